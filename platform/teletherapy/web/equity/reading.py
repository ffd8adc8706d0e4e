"""Reading an equity request from the query string (shared by the admin page and its CSV)."""

from __future__ import annotations

from flask import request

from teletherapy.clock import utcnow
from teletherapy.domain.errors import NotFoundError, ValidationError
from teletherapy.services.equity import metrics
from teletherapy.web.access import current_actor

FILTERS = ("fee_band", "setting", "language", "state")


def require_admin() -> None:
    """Administrators only; to anyone else the page and the API do not exist."""
    actor = current_actor()
    if actor is None or actor.role != "admin":
        raise NotFoundError("Not found.")


def read_report() -> tuple[metrics.EquityReport | None, dict[str, list[str]], dict[str, str]]:
    """The report for the query string, or the field errors (and the form's values)."""
    values = {name: request.args.get(name, "") for name in ("from", "to", *FILTERS)}
    try:
        start, end, chosen = metrics.parse_request(
            date_from=values["from"] or None,
            date_to=values["to"] or None,
            filters={name: values[name] for name in FILTERS},
            today=utcnow().date(),
        )
    except ValidationError as exc:
        return None, {k: list(m) for k, m in exc.errors.items()}, values
    values |= {"from": start.isoformat(), "to": end.isoformat()}
    report = metrics.equity_report(date_from=start, date_to=end, filters=chosen, now=utcnow())
    return report, {}, values
