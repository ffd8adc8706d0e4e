"""WTForms for the intake form, the therapist's profile editor and the fee-band admin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
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

WEIGHTS = [("1", _l("Matters a little")), ("2", _l("Matters")), ("3", _l("Matters a lot"))]
WEIGHTS_WITH_NONE = [("0", _l("Does not matter")), *WEIGHTS]
TIMES_OF_DAY = {
    "morning": ("08:00", "12:00", _l("Mornings (8 am to noon)")),
    "afternoon": ("12:00", "17:00", _l("Afternoons (noon to 5 pm)")),
    "evening": ("17:00", "21:00", _l("Evenings (5 pm to 9 pm)")),
}
WEEKDAYS = [
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
]


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes in one fieldset (templates/find/_macros.html renders it)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _blank(label: Any, pairs: dict[str, str] | list[tuple[str, str]]) -> list[Any]:
    items = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
    return options([("", label), *items])


class LanguageRow(Form):
    code = SelectField(
        _l("Language"), choices=_blank(_l("Choose a language"), v.LANGUAGES), default=""
    )
    need = SelectField(
        _l("How much it matters"),
        choices=options([("preferred", _l("Preferred")), ("required", _l("Required"))]),
        default="preferred",
    )


class CultureRow(Form):
    code = SelectField(
        _l("Cultural background or community"),
        choices=_blank(_l("Choose one"), v.CULTURAL_BACKGROUNDS),
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
        _l("Your state"), choices=_blank(_l("Choose your state"), v.US_STATES), default=""
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
        _l("Therapist's gender"), choices=_blank(_l("No preference"), v.GENDERS), default=""
    )
    gender_weight = SelectField(_l("How much it matters"), choices=options(WEIGHTS), default="1")
    faith_integrated = SelectField(
        _l("Faith-integrated therapy"), choices=options(WEIGHTS_WITH_NONE), default="0"
    )
    lgbtq_affirming = SelectField(
        _l("LGBTQ+-affirming therapist"), choices=options(WEIGHTS_WITH_NONE), default="0"
    )
    age_group = SelectField(
        _l("Therapy is for"), choices=_blank(_l("Any age group"), v.AGE_GROUPS), default=""
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


class FeeRow(Form):
    code = HiddenField()
    accepts = BooleanField(_l("I accept this band"))
    dollars = DecimalField(_l("My price per session ($)"), places=2, validators=[Optional()])


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Name shown to clients"), validators=[Length(min=1, max=120)])
    bio = TextAreaField(_l("About you and your practice"), validators=[Length(max=2000)])
    photo_url = StringField(
        _l("Photo address (https, optional)"), validators=[Optional(), URL(), Length(max=500)]
    )
    license_type = StringField(
        _l("Licence type (LCSW, LMHC, PsyD ...)"), validators=[Length(max=40)]
    )
    license_number = StringField(_l("Licence number"), validators=[Length(max=40)])
    license_state = SelectField(
        _l("State of your main licence"),
        choices=_blank(_l("Choose a state"), v.US_STATES),
        default="",
    )
    licence_states = SelectMultipleField(
        _l("Other states where you are licensed"), choices=options(v.US_STATES)
    )
    online_states = SelectMultipleField(
        _l("States where you offer online sessions (you must be licensed there)"),
        choices=options(v.US_STATES),
    )
    office_zip = StringField(
        _l("Office ZIP code (leave empty if you have no office)"),
        validators=[Optional(), Regexp(r"^\d{5}$", message=_l("Enter a 5-digit ZIP code."))],
    )
    home_zip = StringField(
        _l("Home visits from ZIP code (leave empty if you do not visit)"),
        validators=[Optional(), Regexp(r"^\d{5}$", message=_l("Enter a 5-digit ZIP code."))],
    )
    home_radius_km = DecimalField(_l("Home-visit radius (km)"), validators=[Optional()])
    gender = SelectField(
        _l("Your gender (optional)"), choices=_blank(_l("Prefer not to say"), v.GENDERS), default=""
    )
    faith_integrated = BooleanField(_l("I offer faith-integrated therapy"))
    lgbtq_affirming = BooleanField(_l("My practice is LGBTQ+-affirming"))
    offers_individual = BooleanField(_l("I see individuals"))
    offers_group = BooleanField(_l("I run groups"))
    accepting_new_clients = BooleanField(_l("I am accepting new clients"))
    modalities = MultiCheckboxField(_l("Modalities"), choices=options(v.MODALITIES))
    concerns = MultiCheckboxField(_l("Concerns you treat"), choices=options(v.CONCERNS))
    languages = MultiCheckboxField(_l("Languages you practise in"), choices=options(v.LANGUAGES))
    cultural_backgrounds = MultiCheckboxField(
        _l("Cultural backgrounds and communities you share or serve (optional)"),
        choices=options(v.CULTURAL_BACKGROUNDS),
    )
    age_groups = MultiCheckboxField(_l("Age groups you see"), choices=options(v.AGE_GROUPS))
    fees = FieldList(FormField(FeeRow))
    reduced_fee_weekly_cap = IntegerField(
        _l("Most reduced-fee sessions a week (empty: no limit)"),
        validators=[Optional(), NumberRange(min=0, max=60)],
    )
    submit = SubmitField(_l("Save profile"))


class BandRow(Form):
    code = StringField(_l("Code"), validators=[Length(min=1, max=8)])
    band_label = StringField(_l("Label"), validators=[Length(min=1, max=120)])
    min_dollars = DecimalField(_l("Lowest price ($)"), places=2)
    max_dollars = DecimalField(_l("Highest price ($)"), places=2)
    max_fpl_percent = IntegerField(
        _l("Income ceiling (% of poverty line; empty for the standard fee)"),
        validators=[Optional()],
    )


class FeeBandsForm(FlaskForm):
    bands = FieldList(FormField(BandRow))
    submit = SubmitField(_l("Save fee bands"))


class GuidelineForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[NumberRange(min=1990, max=2200)])
    first_person_dollars = DecimalField(_l("Yearly income for one person ($)"), places=0)
    each_additional_dollars = DecimalField(_l("Each additional person ($)"), places=0)
    submit = SubmitField(_l("Save guideline"))


class VerifyForm(FlaskForm):
    submit = SubmitField(_l("Verify"))
