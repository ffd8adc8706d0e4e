"""WTForms for the administrators' pages: accounts, fee bands and the poverty guideline."""

from __future__ import annotations

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
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from teletherapy.domain.vocabularies import Role
from teletherapy.web.forms import options


class CreateUserForm(FlaskForm):
    display_name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField("Initial password", validators=[DataRequired(), Length(min=10)])
    role = SelectField("Role", choices=options([(r.value, r.value.title()) for r in Role]))
    submit = SubmitField("Create account")


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
