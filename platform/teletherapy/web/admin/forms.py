"""WTForms for the administrators' pages: accounts, fee bands and the poverty guideline."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from teletherapy.domain.vocabularies import Role
from teletherapy.web.forms import options

ROLE_LABELS = {"client": _l("Client"), "therapist": _l("Therapist"), "admin": _l("Administrator")}
STATUS_LABELS = {
    "active": _l("Active"),
    "pending": _l("Waiting for approval"),
    "disabled": _l("Disabled"),
}


class CreateUserForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    # The format is the service's one email rule (sign-in accepts what sign-up accepts).
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(min=10)])
    role = SelectField(_l("Role"), choices=options([(r.value, ROLE_LABELS[r.value]) for r in Role]))
    submit = SubmitField(_l("Create account"))


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
