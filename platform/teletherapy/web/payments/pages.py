"""Payment pages, the JSON steps of the pay page, and the Stripe webhook endpoint."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from teletherapy.clock import utcnow
from teletherapy.domain.errors import DomainError, ValidationError
from teletherapy.domain.payments import ledger_actions
from teletherapy.domain.vocabularies import Role
from teletherapy.extensions import csrf
from teletherapy.services import payments
from teletherapy.services.payments import InvalidWebhook, PaymentGateway, PaymentGatewayError
from teletherapy.web.access import public, require_actor, roles
from teletherapy.web.downloads import attachment
from teletherapy.web.errors import translate
from teletherapy.web.forms import ActionForm, attach_errors
from teletherapy.web.headers import allow_stripe
from teletherapy.web.payments.forms import PaymentSettingsForm
from teletherapy.web.payments.pdf import superbill_pdf

bp = Blueprint("payments", __name__)


@bp.app_context_processor
def _ledger_vocabulary() -> dict[str, Any]:
    """Templates ask the domain what a ledger line allows."""
    return {"ledger_actions": ledger_actions}


def current_gateway() -> PaymentGateway | None:
    """The Stripe gateway built at app creation (or a test's stand-in); None: pay at the
    session only."""
    return payments.current_gateway()


def _json_error(exc: Exception) -> Any:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"status": "error", "message": translate(exc.detail)}
        if exc.errors:
            body["errors"] = exc.errors
        return jsonify(body), exc.status
    return jsonify({"status": "error", "message": "The payment service is unavailable."}), 502


@bp.get("/payments/")
@roles("client", "therapist")
def index() -> Any:
    actor = require_actor()
    now = utcnow()
    unpaid = payments.unpaid_sessions(therapist=actor, now=now) if actor.role == "therapist" else []
    return render_template(
        "payments/index.html",
        lines=payments.list_ledger(actor=actor),
        unpaid=unpaid,
        action_form=ActionForm(),
        month=now.astimezone(ZoneInfo(actor.time_zone)).strftime("%Y-%m"),
    )


@bp.get("/payments/<int:payment_id>/receipt")
@roles("client", "therapist")
def receipt(payment_id: int) -> Any:
    line = payments.get_receipt(actor=require_actor(), payment_id=payment_id)
    return render_template("payments/receipt.html", line=line)


def _superbill() -> payments.Superbill:
    booking = request.args.get("booking", "")
    month = request.args.get("month") or None
    if booking and not booking.isdigit():
        raise ValidationError("Session not understood.", errors={"booking": ["Not a session."]})
    actor = require_actor()
    if actor.role == Role.THERAPIST.value:
        # A therapist prints the superbill of one of their own sessions, for the client.
        if not booking:
            raise ValidationError("Choose a session.", errors={"booking": ["Required."]})
        return payments.therapist_superbill(therapist=actor, booking_id=int(booking), now=utcnow())
    return payments.superbill(
        client=actor,
        now=utcnow(),
        booking_id=int(booking) if booking else None,
        month=None if booking else month,
    )


@bp.get("/payments/superbill")
@roles("client", "therapist")
def superbill() -> Any:
    return render_template("payments/superbill.html", bill=_superbill(), args=request.args)


@bp.get("/payments/superbill.pdf")
@roles("client", "therapist")
def superbill_as_pdf() -> Any:
    bill = _superbill()
    name = "superbill-" + "".join(c if c.isalnum() else "-" for c in bill.period.lower())
    return attachment(superbill_pdf(bill), filename=f"{name}.pdf", content_type="application/pdf")


@bp.get("/payments/earnings")
@roles("therapist")
def earnings() -> Any:
    return render_template(
        "payments/earnings.html",
        earnings=payments.earnings(therapist=require_actor(), now=utcnow()),
    )


@bp.route("/payments/settings", methods=["GET", "POST"])
@roles("therapist")
def settings() -> Any:
    actor = require_actor()
    assert actor.therapist_id is not None
    current = payments.get_settings(therapist_id=actor.therapist_id)
    form = PaymentSettingsForm(
        obj=current,
        late_cancel_fee=Decimal(current.late_cancel_fee_cents) / 100,
    )
    if form.validate_on_submit():
        fee = form.late_cancel_fee.data or Decimal(0)
        try:
            payments.update_settings(
                therapist=actor,
                accepts_pay_now=bool(form.accepts_pay_now.data),
                accepts_card_on_file=bool(form.accepts_card_on_file.data),
                accepts_pay_at_session=bool(form.accepts_pay_at_session.data),
                late_cancel_fee_cents=int((fee * 100).to_integral_value()),
                waive_first_late_cancel=bool(form.waive_first_late_cancel.data),
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            flash(_("Payment settings saved."), "success")
            return redirect(url_for("payments.settings"))
    return render_template(
        "payments/settings.html",
        form=form,
        stripe_enabled=payments.stripe_config(current_app.config) is not None,
    ), 422 if form.errors else 200


# --- paying for a booking ------------------------------------------------------------------


@bp.get("/payments/bookings/<int:booking_id>/pay")
@roles("client")
def pay(booking_id: int) -> Any:
    config = payments.stripe_config(current_app.config)
    page = payments.get_pay_page(
        client=require_actor(), booking_id=booking_id, gateway=current_gateway(), now=utcnow()
    )
    if config is not None:
        allow_stripe(config.js_url)  # the only page whose policy admits Stripe.js
    return render_template(
        "payments/pay.html",
        page=page,
        stripe=config,
        action_form=ActionForm(),
    )


@bp.post("/payments/bookings/<int:booking_id>/pay-at-session")
@roles("client")
def pay_at_session(booking_id: int) -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        raise ValidationError("This form expired; please try again.")
    payments.choose_pay_at_session(
        client=require_actor(),
        booking_id=booking_id,
        stripe_enabled=current_gateway() is not None,
        now=utcnow(),
    )
    flash(_("Your session is booked. You will pay at the session."), "success")
    return redirect(url_for("payments.index"))


def _card_step(booking_id: int, step: str) -> Any:
    gateway = current_gateway()
    if gateway is None:
        return jsonify({"status": "error", "message": "Card payments are not available."}), 404
    data = request.get_json(silent=True) or {}
    client = require_actor()
    try:
        if step == "setup":
            setup = payments.start_card_setup(
                client=client,
                booking_id=booking_id,
                method=str(data.get("method", "")),
                gateway=gateway,
                now=utcnow(),
            )
            return jsonify({"status": "ok", "client_secret": setup.client_secret})
        if step == "card":
            outcome = payments.submit_card(
                client=client,
                booking_id=booking_id,
                method=str(data.get("method", "")),
                payment_method_id=str(data.get("payment_method_id", "")),
                gateway=gateway,
                now=utcnow(),
            )
        else:
            outcome = payments.verify_payment(
                client=client, booking_id=booking_id, gateway=gateway, now=utcnow()
            )
    except (DomainError, PaymentGatewayError) as exc:
        return _json_error(exc)
    return jsonify(
        {
            "status": outcome.status,
            "booking_status": outcome.booking_status,
            "message": outcome.message,
            "client_secret": outcome.client_secret,
            "next": url_for("payments.index"),
        }
    )


@bp.post("/payments/bookings/<int:booking_id>/setup-intent")
@roles("client")
def setup_intent(booking_id: int) -> Any:
    return _card_step(booking_id, "setup")


@bp.post("/payments/bookings/<int:booking_id>/card")
@roles("client")
def card(booking_id: int) -> Any:
    return _card_step(booking_id, "card")


@bp.post("/payments/bookings/<int:booking_id>/verify")
@roles("client")
def verify(booking_id: int) -> Any:
    return _card_step(booking_id, "verify")


# --- the therapist's one-click actions -----------------------------------------------------


@bp.post("/payments/bookings/<int:booking_id>/mark-paid")
@roles("therapist")
def mark_paid(booking_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        raise ValidationError("This form expired; please try again.")
    payments.mark_paid_at_session(therapist=require_actor(), booking_id=booking_id, now=utcnow())
    flash(_("Marked as paid."), "success")
    return redirect(url_for("payments.index"))


@bp.post("/payments/bookings/<int:booking_id>/waive")
@roles("therapist")
def waive(booking_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        raise ValidationError("This form expired; please try again.")
    payments.waive_late_fee(therapist=require_actor(), booking_id=booking_id, now=utcnow())
    flash(_("The fee is waived for hardship."), "success")
    return redirect(url_for("payments.index"))


# --- Stripe webhooks -------------------------------------------------------------------------


@bp.post("/webhooks/stripe")
@csrf.exempt
@public
def stripe_webhook() -> Any:
    """Signed by Stripe over the raw body; 400 for anything that does not verify."""
    gateway = current_gateway()
    if gateway is None:
        return jsonify({"error": "payments are not configured"}), 404
    try:
        outcome = payments.process_webhook(
            payload=request.get_data(cache=False),
            signature_header=request.headers.get("Stripe-Signature"),
            gateway=gateway,
            now=utcnow(),
        )
    except InvalidWebhook as exc:
        return jsonify({"error": exc.message}), 400
    except PaymentGatewayError as exc:  # no webhook secret configured
        current_app.logger.error("stripe webhook refused: %s", exc.message)
        return jsonify({"error": "webhooks are not configured"}), 503
    return jsonify({"received": True, "outcome": outcome})
