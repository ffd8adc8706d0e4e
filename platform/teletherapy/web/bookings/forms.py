"""WTForms for the session pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from teletherapy.web.forms import options

REPEAT_CHOICES = [("1", _l("Just this session"))] + [
    (str(n), _l("Every week for %(num)s weeks", num=n)) for n in range(2, 53)
]


class BookForm(FlaskForm):
    start = HiddenField(validators=[DataRequired()])
    setting = HiddenField(validators=[DataRequired()])
    # A fresh key per rendered form: a double-submitted form books once.
    request_key = HiddenField(validators=[Optional(), Length(max=200)])
    repeat = SelectField(_l("How often"), choices=options(REPEAT_CHOICES), default="1")
    submit = SubmitField(_l("Confirm booking"))


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (optional; shared with the other person)"),
        validators=[Optional(), Length(max=500)],
    )
    scope = RadioField(
        _l("Which sessions"),
        choices=options(
            [
                ("one", _l("Only this session")),
                ("future", _l("This and all later sessions of the series")),
            ]
        ),
        default="one",
    )
    submit = SubmitField(_l("Cancel the session"))
