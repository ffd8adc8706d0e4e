"""WTForms for the intake form, the therapist's profile editor and the fee-band admin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import URL, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from teletherapy.domain import vocabularies as v
from teletherapy.domain.matching import DEFAULT_MAX_DISTANCE_KM, MAX_DISTANCE_KM
from teletherapy.web.accounts.forms import options

WEIGHTS = [("1", "Matters a little"), ("2", "Matters"), ("3", "Matters a lot")]
WEIGHTS_WITH_NONE = [("0", "Does not matter"), *WEIGHTS]
TIMES_OF_DAY = {
    "morning": ("08:00", "12:00", "Mornings (8 am to noon)"),
    "afternoon": ("12:00", "17:00", "Afternoons (noon to 5 pm)"),
    "evening": ("17:00", "21:00", "Evenings (5 pm to 9 pm)"),
}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes in one fieldset (templates/find/_macros.html renders it)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _blank(label: str, pairs: dict[str, str] | list[tuple[str, str]]) -> list[Any]:
    items = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
    return options([("", label), *items])


class LanguageRow(Form):
    code = SelectField("Language", choices=_blank("Choose a language", v.LANGUAGES), default="")
    need = SelectField(
        "How much it matters",
        choices=options([("preferred", "Preferred"), ("required", "Required")]),
        default="preferred",
    )


class CultureRow(Form):
    code = SelectField(
        "Cultural background or community",
        choices=_blank("Choose one", v.CULTURAL_BACKGROUNDS),
        default="",
    )
    weight = SelectField("How much it matters", choices=options(WEIGHTS), default="1")


class IntakeForm(FlaskForm):
    setting = SelectField(
        "How would you like to meet?",
        choices=options(v.SETTINGS),
        default="online",
    )
    state = SelectField("Your state", choices=_blank("Choose your state", v.US_STATES), default="")
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
        "Therapist's gender", choices=_blank("No preference", v.GENDERS), default=""
    )
    gender_weight = SelectField("How much it matters", choices=options(WEIGHTS), default="1")
    faith_integrated = SelectField(
        "Faith-integrated therapy", choices=options(WEIGHTS_WITH_NONE), default="0"
    )
    lgbtq_affirming = SelectField(
        "LGBTQ+-affirming therapist", choices=options(WEIGHTS_WITH_NONE), default="0"
    )
    age_group = SelectField(
        "Therapy is for", choices=_blank("Any age group", v.AGE_GROUPS), default=""
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


class FeeRow(Form):
    code = HiddenField()
    accepts = BooleanField("I accept this band")
    dollars = DecimalField("My price per session ($)", places=2, validators=[Optional()])


class ProfileForm(FlaskForm):
    display_name = StringField("Name shown to clients", validators=[Length(min=1, max=120)])
    bio = TextAreaField("About you and your practice", validators=[Length(max=2000)])
    photo_url = StringField(
        "Photo address (https, optional)", validators=[Optional(), URL(), Length(max=500)]
    )
    license_type = StringField("Licence type (LCSW, LMHC, PsyD ...)", validators=[Length(max=40)])
    license_number = StringField("Licence number", validators=[Length(max=40)])
    license_state = SelectField(
        "State of your main licence", choices=_blank("Choose a state", v.US_STATES), default=""
    )
    licence_states = SelectMultipleField(
        "Other states where you are licensed", choices=options(v.US_STATES)
    )
    online_states = SelectMultipleField(
        "States where you offer online sessions (you must be licensed there)",
        choices=options(v.US_STATES),
    )
    office_zip = StringField(
        "Office ZIP code (leave empty if you have no office)",
        validators=[Optional(), Regexp(r"^\d{5}$", message="Enter a 5-digit ZIP code.")],
    )
    home_zip = StringField(
        "Home visits from ZIP code (leave empty if you do not visit)",
        validators=[Optional(), Regexp(r"^\d{5}$", message="Enter a 5-digit ZIP code.")],
    )
    home_radius_km = DecimalField("Home-visit radius (km)", validators=[Optional()])
    gender = SelectField(
        "Your gender (optional)", choices=_blank("Prefer not to say", v.GENDERS), default=""
    )
    faith_integrated = BooleanField("I offer faith-integrated therapy")
    lgbtq_affirming = BooleanField("My practice is LGBTQ+-affirming")
    offers_individual = BooleanField("I see individuals")
    offers_group = BooleanField("I run groups")
    accepting_new_clients = BooleanField("I am accepting new clients")
    modalities = MultiCheckboxField("Modalities", choices=options(v.MODALITIES))
    concerns = MultiCheckboxField("Concerns you treat", choices=options(v.CONCERNS))
    languages = MultiCheckboxField("Languages you practise in", choices=options(v.LANGUAGES))
    cultural_backgrounds = MultiCheckboxField(
        "Cultural backgrounds and communities you share or serve (optional)",
        choices=options(v.CULTURAL_BACKGROUNDS),
    )
    age_groups = MultiCheckboxField("Age groups you see", choices=options(v.AGE_GROUPS))
    fees = FieldList(FormField(FeeRow))
    reduced_fee_weekly_cap = IntegerField(
        "Most reduced-fee sessions a week (empty: no limit)",
        validators=[Optional(), NumberRange(min=0, max=60)],
    )
    submit = SubmitField("Save profile")


class BandRow(Form):
    code = StringField("Code", validators=[Length(min=1, max=8)])
    band_label = StringField("Label", validators=[Length(min=1, max=120)])
    min_dollars = DecimalField("Lowest price ($)", places=2)
    max_dollars = DecimalField("Highest price ($)", places=2)
    max_fpl_percent = IntegerField(
        "Income ceiling (% of poverty line; empty for the standard fee)",
        validators=[Optional()],
    )


class FeeBandsForm(FlaskForm):
    bands = FieldList(FormField(BandRow))
    submit = SubmitField("Save fee bands")


class GuidelineForm(FlaskForm):
    year = IntegerField("Year", validators=[NumberRange(min=1990, max=2200)])
    first_person_dollars = DecimalField("Yearly income for one person ($)", places=0)
    each_additional_dollars = DecimalField("Each additional person ($)", places=0)
    submit = SubmitField("Save guideline")


class VerifyForm(FlaskForm):
    submit = SubmitField("Verify")
