"""Security headers on every answer: CSP without inline code, framing, referrers, caching.

Stripe.js is allowed only on a page that pays (its view calls `allow_stripe`); feed and
reset pages send no referrer at all, so their tokens never reach another site; anything
answered to a signed-in person (or carrying a token in its address) is never stored by
a cache.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, current_app, g, has_request_context, request
from werkzeug.wrappers import Response

from teletherapy.web.access import current_actor

# Paths whose address holds a secret (calendar feed, password reset) or shows one.
SECRET_PATHS = ("/feeds/", "/reset-password/", "/calendar")
NONE = "'none'"
PERMISSIONS = "camera=(), microphone=(), geolocation=(), usb=(), payment=()"


def allow_stripe(js_url: str) -> None:
    """Let this page load Stripe.js from `js_url`'s origin and talk to Stripe."""
    parts = urlsplit(js_url)
    g.stripe_origin = f"{parts.scheme}://{parts.netloc}"


def csp_nonce() -> str:
    """This answer's nonce for a <style> element that cannot be a file (pygal's SVG charts);
    the policy names it only on answers that used it."""
    if not has_request_context():
        return ""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    nonce: str = g.csp_nonce
    return nonce


def content_security_policy() -> str:
    stripe = g.get("stripe_origin")
    nonce = g.get("csp_nonce")
    styles = f" 'nonce-{nonce}'" if nonce else ""
    extra = f" {stripe}" if stripe else ""
    if stripe and stripe.startswith("https://js.stripe.com"):
        # Stripe itself: 3-D Secure frames and API calls come from its other hosts.
        frames, connect = (
            " https://js.stripe.com https://hooks.stripe.com",
            " https://api.stripe.com",
        )
    else:
        frames, connect = extra, extra
    directives = [
        "default-src 'self'",
        f"script-src 'self'{extra}",
        f"style-src 'self'{styles}",
        "img-src 'self' data:",
        "font-src 'self'",
        f"connect-src 'self'{connect}",
        f"frame-src {frames.strip() or NONE}",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
    return "; ".join(directives)


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    secret = request.path.startswith(SECRET_PATHS)
    headers["Referrer-Policy"] = "no-referrer" if secret else "strict-origin"
    stripe = g.get("stripe_origin")
    headers.setdefault(
        "Permissions-Policy",
        PERMISSIONS.replace("payment=()", f'payment=(self "{stripe}")') if stripe else PERMISSIONS,
    )
    if current_app.config.get("ENV") == "production":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    private = secret or _signed_in()
    if private and "Cache-Control" not in headers and not request.path.startswith("/static/"):
        headers["Cache-Control"] = "no-store"
    if private and "Cookie" not in headers.get("Vary", ""):
        headers.add("Vary", "Cookie")
    return response


def _signed_in() -> bool:
    try:
        return current_actor() is not None
    except Exception:  # an answer to a broken request still gets its headers
        return False


def init_app(app: Flask) -> None:
    app.after_request(set_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
