"""Form helpers every page blueprint shares: choices, the CSRF-only button form, field errors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from flask import abort, flash
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import Field, SelectMultipleField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from teletherapy.domain.errors import ValidationError
from teletherapy.i18n import lazy_label
from teletherapy.web.errors import translate, translated_errors
from teletherapy.web.formatting import zone_label

COMMON_ZONES = [
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
    "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico",
    "Europe/London", "Asia/Kolkata", "UTC",
]  # fmt: skip
WEEKDAYS = [
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
]


def options(pairs: list[tuple[str, Any]] | dict[str, str]) -> list[SelectChoice]:
    """WTForms 3.3 wants SelectChoice objects rather than (value, label) tuples; English
    labels are translated when the form renders (language names from Babel's data)."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value, lazy_label(value, label)) for value, label in items]


def zone_choices(also: str | None = None) -> list[SelectChoice]:
    """COMMON_ZONES as a select offers them: 'Eastern Time (New York)', in the viewer's
    language when the form renders; `also` (a person's own zone) first if it is another."""
    zones = ([also] if also and also not in COMMON_ZONES else []) + COMMON_ZONES
    return [SelectChoice(zone, LazyString(zone_label, zone)) for zone in zones]


def blank_first(label: Any, pairs: dict[str, str] | list[tuple[str, str]]) -> list[SelectChoice]:
    """Choices that start with an empty one ("Choose a state")."""
    items = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
    return options([("", label), *items])


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes in one fieldset (the `checkboxes` macro of _partials/form.html)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ActionForm(FlaskForm):
    """CSRF only: a button that posts; any value comes from the button pressed."""

    submit = SubmitField(_l("Go"))


def attach_errors(
    form: Any,
    exc: ValidationError,
    *,
    field_for: Mapping[str, str] | None = None,
    fallback: Field | None = None,
) -> None:
    """Show a service's validation messages next to the fields they are about.

    A service names fields as its keyword arguments (`fee_cents`, `weekly[0].end`); the
    page may show one under another name (`field_for`). A message for no field on the
    form goes to `fallback`, or is flashed; a ValidationError without field messages
    flashes its detail.
    """
    for name, messages in translated_errors(exc).items():
        base = name.split(".")[0]
        field = getattr(form, (field_for or {}).get(base, base), None) or fallback
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            flash(" ".join(messages), "error")
    if not exc.errors:
        flash(translate(exc.detail), "error")


def to_cents(dollars: Decimal | None) -> int | None:
    """A dollar amount typed in a form, in integer cents (None stays None)."""
    return None if dollars is None else int((dollars * 100).to_integral_value())


def to_dollars(cents: int | None) -> Decimal | None:
    """Cents as the Decimal dollars a form field shows."""
    return None if cents is None else Decimal(cents) / 100


def date_arg(value: str | None, default: date) -> date:
    """A YYYY-MM-DD query parameter (`?week=`, `?date=`); absent: the default; garbled: 400."""
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400)
