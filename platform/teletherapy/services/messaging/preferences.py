"""Each person's reminder offsets and how their sessions appear in calendars."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from teletherapy.domain.errors import NotFoundError, ValidationError
from teletherapy.domain.reminders import DEFAULT_OFFSETS_MINUTES, validate_offsets
from teletherapy.extensions import db
from teletherapy.models import CalendarDetail, NotificationPreference, Role, User

FIELD = "reminder_offsets_minutes"


@dataclass(frozen=True)
class Preferences:
    reminder_offsets_minutes: tuple[int, ...]
    reminders_enabled: bool
    calendar_detail: str

    @property
    def active_offsets(self) -> tuple[int, ...]:
        """The offsets that produce reminders (none when reminders are off)."""
        return self.reminder_offsets_minutes if self.reminders_enabled else ()


def default_detail(role: str) -> str:
    """Clients see "Appointment" unless they choose otherwise; therapists see names."""
    if role == Role.CLIENT.value:
        return CalendarDetail.DISCREET.value
    return CalendarDetail.NAMED.value


# Preferences read in the current transaction, per user id: a booking's notices and
# reminders ask for both parties' several times, and a person without a saved row (most
# people) would cost a query each time (the identity map does not remember a miss).
_MEMO = "teletherapy.preferences"


def get_preferences(user: User) -> Preferences:
    session = db.session()
    memo: tuple[object, dict[int, Preferences]] | None = session.info.get(_MEMO)
    if memo is not None and memo[0] is session.get_transaction():
        found = memo[1].get(user.id)
        if found is not None:
            return found
    found = _read_preferences(user)
    _remember({user.id: found})
    return found


def read_preferences_of(users: Sequence[User]) -> None:
    """Read several people's preferences in one query for this transaction (the parties of
    a booking, before its notices and reminders ask for each)."""
    rows = {
        row.user_id: row
        for row in db.session.scalars(
            select(NotificationPreference).where(
                NotificationPreference.user_id.in_([user.id for user in users])
            )
        )
    }
    _remember({user.id: _from_row(user, rows.get(user.id)) for user in users})


def _remember(found: dict[int, Preferences]) -> None:
    session = db.session()
    memo: tuple[object, dict[int, Preferences]] | None = session.info.get(_MEMO)
    transaction = session.get_transaction()  # the read began one if none was open
    if memo is None or memo[0] is not transaction:
        memo = (transaction, {})
        session.info[_MEMO] = memo
    memo[1].update(found)


def forget_preferences() -> None:
    """Drop what this transaction remembered (after writing or deleting preference rows)."""
    db.session.info.pop(_MEMO, None)


def _read_preferences(user: User) -> Preferences:
    return _from_row(user, db.session.get(NotificationPreference, user.id))


def _from_row(user: User, row: NotificationPreference | None) -> Preferences:
    if row is None:
        return Preferences(DEFAULT_OFFSETS_MINUTES, True, default_detail(user.role))
    return Preferences(
        tuple(int(o) for o in row.reminder_offsets_minutes),
        row.reminders_enabled,
        row.calendar_detail,
    )


def parse_offsets(text: str) -> list[int]:
    """'1440, 60' -> [1440, 60]; anything else is a ValidationError on the offsets field."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    bad = [p for p in parts if not p.isdigit()]
    if bad:
        raise ValidationError(
            "Invalid reminder times.",
            errors={FIELD: [f"{p!r} is not a whole number of minutes" for p in bad]},
        )
    return [int(p) for p in parts]


def update_preferences(
    *,
    user_id: int,
    reminder_offsets_minutes: list[int] | None = None,
    reminders_enabled: bool | None = None,
    calendar_detail: str | None = None,
) -> Preferences:
    """Change a person's preferences; all or nothing. Pending reminders keep their times."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError("No such user.")
    errors: dict[str, list[str]] = {}
    offsets: tuple[int, ...] | None = None
    if reminder_offsets_minutes is not None:
        try:
            offsets = validate_offsets(reminder_offsets_minutes)
        except ValidationError as exc:
            errors.update({k: list(v) for k, v in exc.errors.items()})
    if calendar_detail is not None and calendar_detail not in {d.value for d in CalendarDetail}:
        errors["calendar_detail"] = ["Choose 'discreet', 'named' or 'initials'."]
    if errors:
        raise ValidationError("Some fields need attention.", errors=errors)
    current = get_preferences(user)
    forget_preferences()
    row = db.session.get(NotificationPreference, user.id)
    if row is None:
        row = NotificationPreference(
            user_id=user.id,
            reminder_offsets_minutes=list(current.reminder_offsets_minutes),
            reminders_enabled=current.reminders_enabled,
            calendar_detail=current.calendar_detail,
        )
        db.session.add(row)
    if offsets is not None:
        row.reminder_offsets_minutes = list(offsets)
    if reminders_enabled is not None:
        row.reminders_enabled = reminders_enabled
    if calendar_detail is not None:
        row.calendar_detail = calendar_detail
    db.session.commit()
    return get_preferences(user)
