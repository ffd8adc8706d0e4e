"""gunicorn reads this file from the working directory (the Dockerfile and compose run there)."""

from __future__ import annotations

from typing import Any

# Access log lines without calendar-feed or password-reset tokens (teletherapy/logs.py).
logger_class = "teletherapy.logs.RedactingGunicornLogger"


def post_worker_init(worker: Any) -> None:
    """Warm the worker before it serves (teletherapy.app.warm_up); several workers with
    rate limits in memory: each worker counts alone, so say so."""
    from flask import Flask

    if isinstance(worker.wsgi, Flask):
        from teletherapy.app import warm_up

        warm_up(worker.wsgi)
    config = getattr(worker.wsgi, "config", {})
    if worker.cfg.workers > 1 and config.get("RATELIMIT_ENABLED"):
        from teletherapy.settings import has_shared_rate_limit_store

        if not has_shared_rate_limit_store(worker.wsgi):
            worker.log.warning(
                "rate limits are kept in memory by each of %s workers, so each counts alone: "
                "set RATELIMIT_STORAGE_URI to redis://... to share them",
                worker.cfg.workers,
            )
