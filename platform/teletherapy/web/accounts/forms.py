"""WTForms for account pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from teletherapy.domain.vocabularies import LANGUAGES, US_STATES
from teletherapy.web.forms import COMMON_ZONES, options


def language_choices() -> list[SelectChoice]:
    return options(LANGUAGES)


class SignUpForm(FlaskForm):
    display_name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField(
        "Password (at least 10 characters)", validators=[DataRequired(), Length(min=10, max=200)]
    )
    role = RadioField(
        "I am",
        choices=options(
            [
                ("client", "Looking for therapy"),
                ("therapist", "A therapist (an administrator verifies your account)"),
            ]
        ),
        default="client",
    )
    time_zone = SelectField(
        "Time zone", choices=options([(z, z) for z in COMMON_ZONES]), default="America/New_York"
    )
    language = SelectField("Preferred language", choices=language_choices, default="en")
    submit = SubmitField("Create account")


class SignInForm(FlaskForm):
    # No format check here: an address that signed up is valid by definition, and
    # the demo accounts use the reserved .test domain that strict validators refuse.
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired()])
    submit = SubmitField("Sign in")


class ResetRequestForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    submit = SubmitField("Email me a reset link")


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password (at least 10 characters)",
        validators=[DataRequired(), Length(min=10, max=200)],
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("password", "Passwords differ.")],
    )
    submit = SubmitField("Set new password")


class SettingsForm(FlaskForm):
    display_name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    time_zone = StringField(
        "Time zone (IANA, e.g. America/New_York)", validators=[DataRequired(), Length(max=64)]
    )
    language = SelectField("Preferred language", choices=language_choices)
    state = SelectField(
        "State", choices=options([("", "—"), *sorted(US_STATES.items())]), validators=[Optional()]
    )
    zip = StringField("ZIP code", validators=[Optional(), Regexp(r"^\d{5}$", message="5 digits")])
    submit = SubmitField("Save settings")
