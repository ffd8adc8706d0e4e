"""Home page and the health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template

from teletherapy.services.admin.health import check_database
from teletherapy.web.access import public

bp = Blueprint("main", __name__)


@bp.get("/")
@public
def home() -> str:
    return render_template("main/home.html")


@bp.get("/healthz")
@public
def healthz() -> Any:
    ok, detail = check_database()
    response = jsonify({"status": "ok" if ok else "error", "database": detail})
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
