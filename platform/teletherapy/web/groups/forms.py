"""WTForms for group pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from teletherapy.domain.vocabularies import MODALITIES, SETTINGS
from teletherapy.services.groups.groups import (
    GROUP_SETTINGS,
    MAX_CAPACITY,
    MAX_MEETINGS,
    MIN_CAPACITY,
)
from teletherapy.web.forms import options
from teletherapy.web.validators import ValidTimeZone


class GroupForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    modality = SelectField(_l("Modality"), choices=options(MODALITIES), default="group")
    setting = SelectField(
        _l("Setting"),
        choices=options({code: SETTINGS[code] for code in GROUP_SETTINGS}),
        default="online",
    )
    capacity = IntegerField(
        _l("Seats (%(low)s to %(high)s)", low=MIN_CAPACITY, high=MAX_CAPACITY),
        validators=[InputRequired(), NumberRange(MIN_CAPACITY, MAX_CAPACITY)],
        default=8,
    )
    fee = DecimalField(
        _l("Fee per meeting and per client (US dollars)"),
        places=2,
        validators=[InputRequired(), NumberRange(0, 1000)],
        default=0,
    )
    first_date = DateField(_l("Date of the first meeting"), validators=[InputRequired()])
    first_time = TimeField(_l("Start time"), validators=[InputRequired()])
    time_zone = StringField(
        _l("Time zone of the meetings (IANA, e.g. America/New_York)"),
        validators=[DataRequired(), Length(max=64), ValidTimeZone()],
    )
    duration_minutes = IntegerField(
        _l("Length of each meeting (minutes)"), validators=[InputRequired()], default=90
    )
    weekly_count = IntegerField(
        _l("Number of weekly meetings (1 to %(high)s)", high=MAX_MEETINGS),
        validators=[InputRequired(), NumberRange(1, MAX_MEETINGS)],
        default=8,
    )
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=2000)], default=""
    )
    submit = SubmitField(_l("Create group"))
