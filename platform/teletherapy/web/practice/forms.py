"""WTForms for the therapist's workspace: the public profile editor."""

from __future__ import annotations

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
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import URL, Length, NumberRange, Optional, Regexp

from teletherapy.domain import vocabularies as v
from teletherapy.web.forms import MultiCheckboxField, blank_first, options


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
        choices=blank_first(_l("Choose a state"), v.US_STATES),
        default="",
    )
    licence_states = MultiCheckboxField(
        _l("Other states where you are licensed"), choices=options(v.US_STATES)
    )
    online_states = MultiCheckboxField(
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
        _l("Your gender (optional)"),
        choices=blank_first(_l("Prefer not to say"), v.GENDERS),
        default="",
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
