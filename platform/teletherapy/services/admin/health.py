"""Health of the parts the app cannot work without."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from teletherapy.extensions import db

logger = logging.getLogger(__name__)


def check_database() -> tuple[bool, str]:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except SQLAlchemyError as exc:
        logger.error("health check: database unavailable: %s", type(exc).__name__)
        db.session.rollback()
        return False, "unavailable"
    return True, "ok"
