"""WTForms for account pages."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from teletherapy.domain import passwords
from teletherapy.domain.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from teletherapy.domain.vocabularies import LANGUAGES, US_STATES
from teletherapy.web.forms import options, zone_choices
from teletherapy.web.validators import ValidTimeZone

PASSWORD_RULE = passwords.RULE  # translated where shown (extracted from domain/passwords.py)


def language_choices() -> list[SelectChoice]:
    return options(LANGUAGES)


class SignUpForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    # The format is the service's one email rule (sign-in accepts what sign-up accepts).
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Password (at least %(count)s characters)", count=MIN_PASSWORD_LENGTH),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
        description=_l(PASSWORD_RULE),
    )
    role = RadioField(
        _l("I am"),
        choices=options(
            [
                ("client", _l("Looking for therapy")),
                ("therapist", _l("A therapist (an administrator verifies your account)")),
            ]
        ),
        default="client",
    )
    time_zone = SelectField(_l("Time zone"), choices=zone_choices(), default="America/New_York")
    language = SelectField(_l("Preferred language"), choices=language_choices, default="en")
    submit = SubmitField(_l("Create account"))


class SignInForm(FlaskForm):
    # No format check here: an address that signed up is valid by definition, and
    # the demo accounts use the reserved .test domain that strict validators refuse.
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    submit = SubmitField(_l("Sign in"))


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    submit = SubmitField(_l("Email me a reset link"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password (at least %(count)s characters)", count=MIN_PASSWORD_LENGTH),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
        description=_l(PASSWORD_RULE),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", _l("Passwords differ."))],
    )
    submit = SubmitField(_l("Set new password"))


class SettingsForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    # The zones offered by name (zone_choices), and the person's own if it is another one
    # (set through the API): the page never asks for an IANA id.
    time_zone = SelectField(
        _l("Time zone"),
        validators=[DataRequired(), Length(max=64), ValidTimeZone()],
        validate_choice=False,
    )
    language = SelectField(_l("Preferred language"), choices=language_choices)
    state = SelectField(
        _l("State"),
        choices=options([("", _l("—")), *sorted(US_STATES.items())]),
        validators=[Optional()],
    )
    zip = StringField(
        _l("ZIP code"), validators=[Optional(), Regexp(r"^\d{5}$", message=_l("5 digits"))]
    )
    submit = SubmitField(_l("Save settings"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        own = getattr(kwargs.get("obj"), "time_zone", None)
        self.time_zone.choices = zone_choices(also=own)


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password (at least %(count)s characters)", count=MIN_PASSWORD_LENGTH),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
        description=_l(PASSWORD_RULE),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", _l("Passwords differ."))],
    )
    submit = SubmitField(_l("Change password"))


class SignOutEverywhereForm(FlaskForm):
    submit = SubmitField(_l("Sign out everywhere"))


class CloseAccountForm(FlaskForm):
    password = PasswordField(_l("Your password, to confirm"), validators=[DataRequired()])
    confirm = BooleanField(
        _l("I understand that closing cannot be undone."), validators=[DataRequired()]
    )
    submit = SubmitField(_l("Close my account"))
