"""One hook records who opened or changed whose data (services/audit/requests.py decides)."""

from __future__ import annotations

import logging

from flask import Flask, request
from werkzeug.wrappers import Response

from teletherapy.clock import utcnow
from teletherapy.services.audit.requests import is_audited, record_request
from teletherapy.web.access import current_actor

logger = logging.getLogger(__name__)


def audit_request(response: Response) -> Response:
    endpoint = request.endpoint or ""
    if response.status_code >= 400 or not is_audited(endpoint):
        return response
    actor = current_actor()
    if actor is None:
        return response
    try:
        record_request(
            actor_id=actor.id,
            endpoint=endpoint,
            method=request.method,
            view_args=request.view_args or {},
            now=utcnow(),
        )
    except Exception:  # the answer stands; a lost audit entry is logged loudly
        logger.exception("audit entry not recorded for %s", endpoint)
    return response


def init_app(app: Flask) -> None:
    app.after_request(audit_request)
