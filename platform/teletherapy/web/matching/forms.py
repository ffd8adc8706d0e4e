"""WTForms for the intake form (find a therapist)."""

from __future__ import annotations

from decimal import Decimal

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

WEIGHTS = [("1", "Matters a little"), ("2", "Matters"), ("3", "Matters a lot")]
WEIGHTS_WITH_NONE = [("0", "Does not matter"), *WEIGHTS]
TIMES_OF_DAY = {
    "morning": ("08:00", "12:00", "Mornings (8 am to noon)"),
    "afternoon": ("12:00", "17:00", "Afternoons (noon to 5 pm)"),
    "evening": ("17:00", "21:00", "Evenings (5 pm to 9 pm)"),
}


class LanguageRow(Form):
    code = SelectField(
        "Language", choices=blank_first("Choose a language", v.LANGUAGES), default=""
    )
    need = SelectField(
        "How much it matters",
        choices=options([("preferred", "Preferred"), ("required", "Required")]),
        default="preferred",
    )


class CultureRow(Form):
    code = SelectField(
        "Cultural background or community",
        choices=blank_first("Choose one", v.CULTURAL_BACKGROUNDS),
        default="",
    )
    weight = SelectField("How much it matters", choices=options(WEIGHTS), default="1")


class IntakeForm(FlaskForm):
    setting = SelectField(
        "How would you like to meet?",
        choices=options(v.SETTINGS),
        default="online",
    )
    state = SelectField(
        "Your state", choices=blank_first("Choose your state", v.US_STATES), default=""
    )
    zip = StringField(
        "Your ZIP code",
        validators=[Optional(), Regexp(r"^\d{5}$", message="Enter a 5-digit ZIP code.")],
    )
    max_distance_km = DecimalField(
        "Farthest you would travel to an office (km)",
        default=Decimal(int(DEFAULT_MAX_DISTANCE_KM)),
        validators=[Optional(), NumberRange(min=1, max=MAX_DISTANCE_KM)],
    )
    languages = FieldList(FormField(LanguageRow), min_entries=3, max_entries=3)
    modalities = MultiCheckboxField(
        "Kinds of therapy you are interested in",
        choices=options([("not_sure", "Not sure yet"), *v.MODALITIES.items()]),
    )
    concerns = MultiCheckboxField("What you would like help with", choices=options(v.CONCERNS))
    cultures = FieldList(FormField(CultureRow), min_entries=2, max_entries=2)
    gender = SelectField(
        "Therapist's gender", choices=blank_first("No preference", v.GENDERS), default=""
    )
    gender_weight = SelectField("How much it matters", choices=options(WEIGHTS), default="1")
    faith_integrated = SelectField(
        "Faith-integrated therapy", choices=options(WEIGHTS_WITH_NONE), default="0"
    )
    lgbtq_affirming = SelectField(
        "LGBTQ+-affirming therapist", choices=options(WEIGHTS_WITH_NONE), default="0"
    )
    age_group = SelectField(
        "Therapy is for", choices=blank_first("Any age group", v.AGE_GROUPS), default=""
    )
    fee_band = SelectField("Your fee band", choices=[], default="")
    household_income = DecimalField(
        "Yearly household income before tax ($)",
        places=0,
        validators=[Optional(), NumberRange(min=0, max=10_000_000)],
    )
    household_size = IntegerField(
        "People in your household", validators=[Optional(), NumberRange(min=1, max=30)]
    )
    days = MultiCheckboxField(
        "Days that suit you", choices=options([(str(i), d) for i, d in enumerate(WEEKDAYS)])
    )
    times = MultiCheckboxField(
        "Times that suit you",
        choices=options([(k, label) for k, (_, _, label) in TIMES_OF_DAY.items()]),
    )
    submit = SubmitField("Show therapists")
