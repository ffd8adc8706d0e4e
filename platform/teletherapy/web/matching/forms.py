"""WTForms for the intake form (find a therapist)."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import NumberRange, Optional, Regexp

from teletherapy.domain import vocabularies as v
from teletherapy.domain.matching_types import DEFAULT_MAX_DISTANCE_KM, MAX_DISTANCE_KM
from teletherapy.web.forms import WEEKDAYS, MultiCheckboxField, blank_first, options

WEIGHTS = [("1", _l("Matters a little")), ("2", _l("Matters")), ("3", _l("Matters a lot"))]
WEIGHTS_WITH_NONE = [("0", _l("Does not matter")), *WEIGHTS]
TIMES_OF_DAY = {
    "morning": ("08:00", "12:00", _l("Mornings (8 am to noon)")),
    "afternoon": ("12:00", "17:00", _l("Afternoons (noon to 5 pm)")),
    "evening": ("17:00", "21:00", _l("Evenings (5 pm to 9 pm)")),
}


class LanguageRow(Form):
    code = SelectField(
        _l("Language"), choices=blank_first(_l("Choose a language"), v.LANGUAGES), default=""
    )
    need = SelectField(
        _l("How much it matters"),
        choices=options([("preferred", _l("Preferred")), ("required", _l("Required"))]),
        default="preferred",
    )


class CultureRow(Form):
    code = SelectField(
        _l("Cultural background or community"),
        choices=blank_first(_l("Choose one"), v.CULTURAL_BACKGROUNDS),
        default="",
    )
    weight = SelectField(_l("How much it matters"), choices=options(WEIGHTS), default="1")


class IntakeForm(FlaskForm):
    setting = SelectField(
        _l("How would you like to meet?"),
        choices=options(v.SETTINGS),
        default="online",
    )
    state = SelectField(
        _l("Your state"), choices=blank_first(_l("Choose your state"), v.US_STATES), default=""
    )
    zip = StringField(
        _l("Your ZIP code"),
        validators=[Optional(), Regexp(r"^\d{5}$", message=_l("Enter a 5-digit ZIP code."))],
    )
    max_distance_km = DecimalField(
        _l("Farthest you would travel to an office (km)"),
        default=Decimal(int(DEFAULT_MAX_DISTANCE_KM)),
        validators=[Optional(), NumberRange(min=1, max=MAX_DISTANCE_KM)],
    )
    languages = FieldList(FormField(LanguageRow), min_entries=3, max_entries=3)
    modalities = MultiCheckboxField(
        _l("Kinds of therapy you are interested in"),
        choices=options([("not_sure", _l("Not sure yet")), *v.MODALITIES.items()]),
    )
    concerns = MultiCheckboxField(_l("What you would like help with"), choices=options(v.CONCERNS))
    cultures = FieldList(FormField(CultureRow), min_entries=2, max_entries=2)
    gender = SelectField(
        _l("Therapist's gender"), choices=blank_first(_l("No preference"), v.GENDERS), default=""
    )
    gender_weight = SelectField(_l("How much it matters"), choices=options(WEIGHTS), default="1")
    faith_integrated = SelectField(
        _l("Faith-integrated therapy"), choices=options(WEIGHTS_WITH_NONE), default="0"
    )
    lgbtq_affirming = SelectField(
        _l("LGBTQ+-affirming therapist"), choices=options(WEIGHTS_WITH_NONE), default="0"
    )
    age_group = SelectField(
        _l("Therapy is for"), choices=blank_first(_l("Any age group"), v.AGE_GROUPS), default=""
    )
    fee_band = SelectField(_l("Your fee band"), choices=[], default="")
    household_income = DecimalField(
        _l("Yearly household income before tax ($)"),
        places=0,
        validators=[Optional(), NumberRange(min=0, max=10_000_000)],
    )
    household_size = IntegerField(
        _l("People in your household"), validators=[Optional(), NumberRange(min=1, max=30)]
    )
    days = MultiCheckboxField(
        _l("Days that suit you"), choices=options([(str(i), d) for i, d in enumerate(WEEKDAYS)])
    )
    times = MultiCheckboxField(
        _l("Times that suit you"),
        choices=options([(k, label) for k, (_, _, label) in TIMES_OF_DAY.items()]),
    )
    submit = SubmitField(_l("Show therapists"))
