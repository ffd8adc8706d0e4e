"""Flask extension singletons, initialised by the app factory."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from teletherapy.models.base import Base
from teletherapy.replica import RoutingSession

# The routing session reads from the replica inside `reads_may_lag()` scopes (replica.py).
db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
babel = Babel()


def abandon_transaction() -> None:
    """Roll the request's transaction back, whatever state the connection is in (an error
    handler's last resort: the database may not answer at all)."""
    try:
        db.session.rollback()
    except Exception:
        db.session.close()
