"""WTForms for payment pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, SubmitField
from wtforms.validators import NumberRange, Optional


class PaymentSettingsForm(FlaskForm):
    accepts_pay_now = BooleanField(_l("Pay when booking (card, charged at once)"))
    accepts_card_on_file = BooleanField(_l("Card on file (charged after each session)"))
    accepts_pay_at_session = BooleanField(_l("Pay at the session (no card taken)"))
    late_cancel_fee = DecimalField(
        _l("Late-cancellation and no-show fee, in dollars"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=1000)],
    )
    waive_first_late_cancel = BooleanField(_l("Waive each client's first late cancellation"))
    submit = SubmitField(_l("Save payment settings"))
