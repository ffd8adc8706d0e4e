"""Every /practice/* page, in one table: the dashboard here, the editors in their modules.

Each page calls its own feature's service (availability, matching, bookings); this
package only gives the therapist's workspace one home and one blueprint.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from teletherapy.domain.vocabularies import Role
from teletherapy.services.availability import rules as availability
from teletherapy.web.access import own_therapist_id, roles
from teletherapy.web.forms import WEEKDAYS
from teletherapy.web.practice import availability as availability_pages
from teletherapy.web.practice import equity, profile, schedule

bp = Blueprint("practice", __name__, url_prefix="/practice")


@roles(Role.THERAPIST)
def dashboard() -> Any:
    saved = availability.get_availability(therapist_id=own_therapist_id())
    return render_template("practice/dashboard.html", saved=saved, weekdays=WEEKDAYS)


bp.add_url_rule("/", view_func=dashboard)
bp.add_url_rule("/equity", endpoint="equity", view_func=equity.equity)
bp.add_url_rule(
    "/availability", view_func=availability_pages.edit_availability, methods=["GET", "POST"]
)
bp.add_url_rule("/profile", view_func=profile.edit_profile, methods=["GET", "POST"])
bp.add_url_rule("/sessions", view_func=schedule.sessions)
bp.add_url_rule(
    "/sessions/<int:booking_id>/attendance", view_func=schedule.attendance, methods=["POST"]
)
