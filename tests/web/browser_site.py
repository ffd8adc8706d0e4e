"""A live demo site for browser tests and screenshots: the app on loopback with demo data.

Used by tests/web/test_every_page_browser.py, tests/web/test_journeys_browser.py and
`make screenshots`. axe-core is the vendored copy in tests/vendor/axe-core.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from teletherapy import create_app
from teletherapy.extensions import db as _db
from tests.browser import AXE, serve

DEMO_PASSWORD = "demo-pass-123"
WIDTHS = (1280, 390)


@dataclass
class Site:
    base: str
    urls: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # role -> (name, path)
    emails: dict[str, str] = field(default_factory=dict)
    app: Any = None


def _next_weekday(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


def _seed(app: Any) -> Site:
    from sqlalchemy import select

    from teletherapy.demo.seed import seed_demo, seed_demo_sessions
    from teletherapy.models import Booking, TherapistProfile, User
    from teletherapy.services.accounts.users import create_user
    from teletherapy.services.groups import groups

    now = datetime.now(UTC)
    seed_demo(therapists=8, clients=10, seed=1)
    seed_demo_sessions(now=now, therapists=5, clients=10)
    therapist = _db.session.scalar(select(User).where(User.email == "therapist1@demo.test"))
    client = _db.session.scalar(select(User).where(User.email == "client1@demo.test"))
    assert therapist is not None and client is not None and therapist.therapist_id is not None
    tid = therapist.therapist_id
    create_user(
        email="pending@example.org",
        password=DEMO_PASSWORD,
        role="therapist",
        display_name="Dr Pending Person",
    )
    # A Sunday at 7 am New York two weeks or more away: clear of the demo's sessions.
    first = _next_weekday(now.date() + timedelta(days=14), 6)
    group = groups.create_group(
        therapist_user_id=therapist.id,
        title="Living with anxiety",
        modality="cbt",
        setting="online",
        capacity=8,
        fee_cents=2000,
        first_start=datetime.combine(first, datetime.min.time(), tzinfo=UTC).replace(hour=12),
        duration_minutes=90,
        weekly_count=6,
        description="A weekly skills group.",
        time_zone="America/New_York",
        now=now,
    )
    upcoming = _db.session.scalar(
        select(Booking)
        .where(Booking.client_id == client.id, Booking.status == "confirmed")
        .where(Booking.start_at > now)
        .order_by(Booking.start_at)
    )
    profile = _db.session.get(TherapistProfile, tid)
    assert profile is not None
    site = Site(base="")
    session_pages = []
    if upcoming is not None:
        session_pages = [
            ("session", f"/sessions/{upcoming.id}"),
            ("cancel", f"/sessions/{upcoming.id}/cancel"),
            ("reschedule", f"/sessions/{upcoming.id}/reschedule"),
        ]
    start = (now + timedelta(days=9)).replace(minute=0, second=0, microsecond=0)
    site.urls = {
        "anonymous": [
            ("home", "/"),
            ("find", "/find"),
            ("groups", "/groups/"),
            ("group", f"/groups/{group.id}"),
            ("therapist", f"/therapists/{tid}"),
            ("sign-in", "/sign-in"),
            ("sign-up", "/sign-up"),
            ("reset", "/reset-password"),
            ("not-found", "/no-such-page"),
        ],
        "client": [
            ("home", "/"),
            ("find", "/find"),
            ("book", f"/sessions/book/{tid}?setting=online"),
            (
                "confirm",
                f"/sessions/book/{tid}/confirm?start={start.strftime('%Y-%m-%dT%H:%M:%SZ')}"
                "&setting=online",
            ),
            ("sessions", "/sessions"),
            *session_pages,
            ("group-seat", f"/groups/{group.id}/seat"),
            ("payments", "/payments/"),
            ("account", "/account"),
            ("calendar", "/calendar/settings"),
            ("questionnaires", "/screening/history"),
        ],
        "therapist": [
            ("dashboard", "/practice/"),
            ("schedule-week", "/practice/sessions"),
            ("schedule-day", "/practice/sessions?view=day"),
            ("availability", "/practice/availability"),
            ("profile", "/practice/profile"),
            ("sessions", "/sessions"),
            ("payments", "/payments/"),
            ("earnings", "/payments/earnings"),
            ("payment-settings", "/payments/settings"),
            ("new-group", "/groups/new"),
            ("outcomes", "/screening/caseload"),
            ("equity", "/practice/equity"),
        ],
        "admin": [
            ("admin", "/admin/"),
            ("licences", "/admin/licences"),
            ("fee-bands", "/admin/fee-bands"),
            ("equity", "/admin/equity"),
        ],
    }
    site.emails = {
        "client": "client1@demo.test",
        "therapist": "therapist1@demo.test",
        "admin": "admin@demo.test",
    }
    return site


@contextmanager
def demo_site(database: Path, instance: Path) -> Iterator[Site]:
    """Serve the app with demo data on a free loopback port until the block ends."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "browser-pages-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "RATELIMIT_ENABLED": False,
            "VIDEO_BASE_URL": "https://meet.example.org",
        },
        instance_path=instance,
    )
    with app.app_context():
        site = _seed(app)
    with serve(app) as base:
        site.base = base
        site.app = app
        yield site


def sign_in(page: Any, site: Site, role: str) -> None:
    if role == "anonymous":
        return
    page.goto(site.base + "/sign-in")
    page.fill("#email", site.emails[role])
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def horizontal_overflow(page: Any) -> int:
    """Pixels the page is wider than the viewport (0: no horizontal scrolling)."""
    return int(
        page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
            " - window.innerWidth"
        )
    )


def axe_violations(page: Any, script: Path = AXE) -> list[dict[str, Any]]:
    """Every axe-core violation, of any impact."""
    page.add_script_tag(path=str(script))
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"
    )
    return list(result)
