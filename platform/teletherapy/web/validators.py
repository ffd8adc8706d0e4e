"""Validators shared by every form and schema: one time-zone rule for pages and the API."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError as SchemaValidationError
from marshmallow import fields
from wtforms import Field
from wtforms.form import BaseForm
from wtforms.validators import ValidationError as FormValidationError

from teletherapy.domain.availability import time_zone_error


class TimeZoneField(fields.String):
    """An IANA Area/City zone (or UTC); legacy aliases, `localtime`, `Factory` and "" refused."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("example", "America/New_York")
        metadata.setdefault("enum", accepted_time_zones())
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        problem = time_zone_error(text)
        if problem:
            raise SchemaValidationError(problem)
        return text


class StrictBoolean(fields.Boolean):
    """JSON true or false only: marshmallow's Boolean also takes 0, 1, "yes" and "on"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise SchemaValidationError("Not a valid boolean: use true or false.")
        return value


class QueryBoolean(StrictBoolean):
    """The words true or false in a query string (`?mine=true`), nothing else."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value in ("true", "false"):
            return bool(value == "true")
        return super()._deserialize(value, attr, data, **kwargs)


def accepted_time_zones() -> list[str]:
    """Every zone `time_zone_error` accepts, for the OpenAPI document's enum."""
    from zoneinfo import available_timezones

    return sorted(z for z in available_timezones() if time_zone_error(z) is None)


class ValidTimeZone:
    """WTForms validator with the same rule as `TimeZoneField`."""

    def __call__(self, form: BaseForm, field: Field) -> None:
        problem = time_zone_error(field.data or "")
        if problem:
            raise FormValidationError(problem)
