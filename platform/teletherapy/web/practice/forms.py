"""WTForms for the therapist's workspace: the public profile editor."""

from __future__ import annotations

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

from teletherapy.domain import vocabularies as v
from teletherapy.web.forms import MultiCheckboxField, blank_first, options


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
        "State of your main licence", choices=blank_first("Choose a state", v.US_STATES), default=""
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
        "Your gender (optional)", choices=blank_first("Prefer not to say", v.GENDERS), default=""
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
