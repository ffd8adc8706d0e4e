"""Account pages: sign up, sign in/out, password reset, settings and API tokens."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from teletherapy.clock import utcnow
from teletherapy.domain.errors import AuthenticationError, ConflictError, ValidationError
from teletherapy.domain.vocabularies import Role
from teletherapy.extensions import limiter
from teletherapy.services.accounts import users as accounts
from teletherapy.services.accounts.sessions import (
    end_every_session,
    end_sign_in_session,
    start_sign_in_session,
)
from teletherapy.services.privacy import own_data as privacy
from teletherapy.web.access import public, require_actor, roles
from teletherapy.web.accounts.forms import (
    ChangePasswordForm,
    CloseAccountForm,
    ResetPasswordForm,
    ResetRequestForm,
    SettingsForm,
    SignInForm,
    SignOutEverywhereForm,
    SignUpForm,
)
from teletherapy.web.downloads import attachment
from teletherapy.web.errors import translate
from teletherapy.web.forms import ActionForm, attach_errors
from teletherapy.web.i18n.pages import current_language

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("main.home")


@bp.route("/sign-up", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@public
def sign_up() -> Any:
    # The language chosen with the switch (or the browser's) is the new account's own.
    form = SignUpForm(language=current_language())
    if form.validate_on_submit():
        try:
            accounts.sign_up(
                email=form.email.data or "",
                password=form.password.data or "",
                display_name=form.display_name.data or "",
                role=form.role.data or "client",
                time_zone=form.time_zone.data or "America/New_York",
                language=form.language.data or "en",
                now=utcnow(),
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            # The same answer whether the address is new or already has an account
            # (its owner gets an email instead), so the page reveals nothing.
            flash(
                _(
                    "Thank you. We have sent an email to that address: sign in below. "
                    "Therapist accounts are verified by an administrator first."
                ),
                "success",
            )
            return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/sign_up.html", form=form), 422 if form.errors else 200


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
@public
def sign_in() -> Any:
    form = SignInForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                email=form.email.data or "", password=form.password.data or "", now=utcnow()
            )
        except AuthenticationError as exc:
            form.password.errors = [translate(exc.detail)]
        else:
            start_sign_in_session(user=user, now=utcnow())
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/sign_in.html", form=form), 422 if form.errors else 200


@bp.post("/sign-out")
@public
def sign_out() -> Any:
    _user_id, _sep, key = str(session.get("_user_id", "")).partition(":")
    if key:
        end_sign_in_session(key=key, now=utcnow())
    logout_user()
    g.pop("actor", None)
    flash(_("You are signed out."), "success")
    return redirect(url_for("main.home"))


@bp.route("/reset-password", methods=["GET", "POST"])
@limiter.limit("5 per minute; 20 per hour", methods=["POST"])
@public
def reset_request() -> Any:
    form = ResetRequestForm()
    if form.validate_on_submit():
        accounts.request_password_reset(
            email=form.email.data or "",
            now=utcnow(),
            max_age_seconds=int(current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"]),
        )
        flash(
            _(
                "If an account uses that address, we have emailed it a link to reset the "
                "password. The link works once, for one hour."
            ),
            "success",
        )
        return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@public
def reset_password(token: str) -> Any:
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(
                token=token, new_password=form.password.data or "", now=utcnow()
            )
        except ValidationError as exc:
            attach_errors(form, exc)
            if "token" in exc.errors:
                flash(translate(exc.detail), "error")
        else:
            flash(_("Your password is changed. Please sign in."), "success")
            return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/reset_password.html", form=form), 422 if form.errors else 200


@bp.route("/account", methods=["GET", "POST"])
@roles()
def settings() -> Any:
    actor = require_actor()
    form = SettingsForm(obj=actor)
    if form.validate_on_submit():
        try:
            accounts.update_account(
                user_id=actor.id,
                changes=accounts.AccountChanges(
                    display_name=form.display_name.data,
                    time_zone=form.time_zone.data,
                    language=form.language.data,
                    state=form.state.data or "",
                    zip=form.zip.data or "",
                ),
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            flash(_("Settings saved."), "success")
            return redirect(url_for("accounts.settings"))
    return _settings_page(form=form)


def _settings_page(
    *,
    form: SettingsForm | None = None,
    password_form: ChangePasswordForm | None = None,
    close_form: CloseAccountForm | None = None,
) -> Any:
    actor = require_actor()
    form = form or SettingsForm(obj=actor, formdata=None)
    password_form = password_form or ChangePasswordForm(formdata=None)
    close_form = close_form or CloseAccountForm(formdata=None)
    failed = bool(form.errors or password_form.errors or close_form.errors)
    return render_template(
        "accounts/settings.html",
        form=form,
        password_form=password_form,
        everywhere_form=SignOutEverywhereForm(),
        tokens=accounts.list_api_tokens(user_id=actor.id),
        revoke_form=ActionForm(),
        token_days=current_app.config["API_TOKEN_MAX_AGE_DAYS"],
        close_form=close_form,
        is_client=actor.role == Role.CLIENT.value,
        kept_on_closing=_(privacy.KEPT_ON_CLOSING),
    ), 422 if failed else 200


@bp.post("/account/password")
@roles()
def change_password() -> Any:
    actor = require_actor()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                user_id=actor.id,
                current_password=form.current_password.data or "",
                new_password=form.new_password.data or "",
                now=utcnow(),
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            logout_user()
            g.pop("actor", None)
            flash(
                _("Your password is changed; every session has ended. Please sign in."), "success"
            )
            return redirect(url_for("accounts.sign_in"))
    return _settings_page(password_form=form)


@bp.post("/account/sign-out-everywhere")
@roles()
def sign_out_everywhere() -> Any:
    actor = require_actor()
    if SignOutEverywhereForm().validate_on_submit():
        end_every_session(user_id=actor.id, now=utcnow())
        logout_user()
        g.pop("actor", None)
        flash(_("You are signed out everywhere, and every API token is revoked."), "success")
        return redirect(url_for("accounts.sign_in"))
    return redirect(url_for("accounts.settings"))


@bp.post("/account/tokens/<int:token_id>/revoke")
@roles()
def revoke_token(token_id: int) -> Any:
    actor = require_actor()
    form = ActionForm()
    if form.validate_on_submit():
        accounts.revoke_api_token(user_id=actor.id, token_id=token_id, now=utcnow())
        flash(_("Token revoked."), "success")
    return redirect(url_for("accounts.settings"))


@bp.get("/account/export")
@roles(Role.CLIENT)
def export_data() -> Any:
    """Everything the platform holds about the client, as one JSON file."""
    actor = require_actor()
    document = privacy.export_own_data(user_id=actor.id, now=utcnow())
    body = json.dumps(document, indent=2, ensure_ascii=False).encode()
    return attachment(body, filename="my-teletherapy-data.json", content_type="application/json")


@bp.post("/account/close")
@roles(Role.CLIENT)
def close_account() -> Any:
    actor = require_actor()
    form = CloseAccountForm()
    if form.validate_on_submit():
        try:
            privacy.close_account(user_id=actor.id, password=form.password.data or "", now=utcnow())
        except ValidationError as exc:
            attach_errors(form, exc)
        except ConflictError as exc:
            form.confirm.errors = [translate(exc.detail)]
        else:
            logout_user()
            g.pop("actor", None)
            flash(_("Your account is closed. Billing records are kept, as explained."), "success")
            return redirect(url_for("main.home"))
    return _settings_page(close_form=form)
