"""WTForms for the session pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from teletherapy.web.forms import options

REPEAT_CHOICES = [("1", "Just this session")] + [
    (str(n), f"Every week for {n} weeks") for n in range(2, 53)
]


class BookForm(FlaskForm):
    start = HiddenField(validators=[DataRequired()])
    setting = HiddenField(validators=[DataRequired()])
    # A fresh key per rendered form: a double-submitted form books once.
    request_key = HiddenField(validators=[Optional(), Length(max=200)])
    repeat = SelectField("How often", choices=options(REPEAT_CHOICES), default="1")
    submit = SubmitField("Confirm booking")


class CancelForm(FlaskForm):
    reason = TextAreaField(
        "Reason (optional; shared with the other person)",
        validators=[Optional(), Length(max=500)],
    )
    scope = RadioField(
        "Which sessions",
        choices=options(
            [("one", "Only this session"), ("future", "This and all later sessions of the series")]
        ),
        default="one",
    )
    submit = SubmitField("Cancel the session")
