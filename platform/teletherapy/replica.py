"""Read routing to a streaming replica: the staleness check, the routing session, the opt-in scope.

Only reads that may lag go to the replica (`DATABASE_REPLICA_URL`): a view opts in with
`reads_may_lag()`, and inside it a plain SELECT goes to the replica while the replica is
known to be at most `DATABASE_REPLICA_MAX_LAG_SECONDS` behind. Everything else reads and
writes the primary: views that did not opt in, SELECT ... FOR UPDATE, text statements, and
every statement after the first flush of the scope (read your own writes).

The staleness check (cached `DATABASE_REPLICA_CHECK_SECONDS` per process) reads the
primary's `pg_current_wal_lsn()`, then the replica's `pg_last_wal_replay_lsn()`, and keeps
the (time, primary LSN) samples of the recent checks: the replica holds every commit made
before the newest sample whose LSN it has replayed, so "fresh as of" is that sample's time
and the lag is now minus it. An idle primary writes no WAL, so the replica stays equal to
it and fresh; a replica whose replay is paused stops at an LSN the primary has passed, and
its lag grows with the clock from the first write it misses. A replica that does not answer
(short connect timeout) or is not in recovery is not used, for a few seconds.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import flask_sqlalchemy.session
from flask import Flask, current_app, has_app_context
from sqlalchemy import CompoundSelect, Select, create_engine, event, text
from sqlalchemy.engine import Connection, Engine

from teletherapy.settings import ConfigurationError, engine_options, normalise_database_url

logger = logging.getLogger(__name__)

EXTENSION_KEY = "replica"
# After the replica failed to answer, it is not asked again for this long (per process).
RETRY_AFTER_FAILURE_SECONDS = 5.0
NOT_CHECKED = "not checked yet"


def parse_lsn(value: str) -> int:
    """'16/B374D848' -> an integer that orders like the WAL position."""
    high, _, low = value.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


class ReplicaRouter:
    """One per app (per process): the replica's engine and what the last check found."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_lag_seconds: float,
        check_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.max_lag_seconds = max_lag_seconds
        self.check_seconds = check_seconds
        self.clock = clock
        self._samples: deque[tuple[float, int]] = deque(maxlen=256)
        self._fresh_as_of: float | None = None
        self._next_check_at = float("-inf")
        self._problem: str | None = NOT_CHECKED
        self._lock = threading.Lock()
        self._checking_thread: int | None = None  # its own failures: reported by the check

    @property
    def checking(self) -> bool:
        """True in the thread running a check (its failures are the check's to report)."""
        return self._checking_thread == threading.get_ident()

    def lag_seconds(self) -> float | None:
        """How far behind the replica may be (None: unknown, down or not a replica)."""
        if self._fresh_as_of is None or self._problem is not None:
            return None
        return max(0.0, self.clock() - self._fresh_as_of)

    def usable(self, primary: Engine) -> tuple[bool, str]:
        """(use the replica?, why not): checks again when the cached answer is too old."""
        if self.clock() >= self._next_check_at and self._lock.acquire(blocking=False):
            self._checking_thread = threading.get_ident()
            try:
                self.check(primary)
            finally:
                self._checking_thread = None
                self._lock.release()
        if self._problem is not None:
            return False, self._problem
        lag = self.lag_seconds()
        if lag is None or lag > self.max_lag_seconds:
            shown = "unknown" if lag is None else f"{lag:.1f} s"
            return False, f"stale (lag {shown} > {self.max_lag_seconds:g} s)"
        return True, ""

    def check(self, primary: Engine) -> None:
        """Sample the primary's WAL position, then ask the replica how far it replayed."""
        started = self.clock()
        self._next_check_at = started + self.check_seconds
        try:
            with primary.connect() as conn:
                position = str(conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one())
        except Exception as exc:
            # The primary does not answer: the request will fail on it anyway; judge later.
            logger.warning("replica check: the primary did not answer (%s)", type(exc).__name__)
            return
        self._samples.append((started, parse_lsn(position)))
        try:
            with self.engine.connect() as conn:
                in_recovery, replayed = conn.execute(
                    text("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
                ).one()
        except Exception as exc:
            self.mark_failed(f"down ({type(exc).__name__})")
            return
        if not in_recovery or replayed is None:
            self.mark_failed("not a standby (not in recovery)")
            return
        replayed_lsn = parse_lsn(str(replayed))
        caught_up = [at for at, lsn in self._samples if lsn <= replayed_lsn]
        if caught_up:
            self._fresh_as_of = max(caught_up[-1], self._fresh_as_of or caught_up[-1])
        # Samples older than the bound can only prove a lag that is too large already.
        horizon = started - self.max_lag_seconds - self.check_seconds
        while len(self._samples) > 1 and self._samples[0][0] < horizon:
            self._samples.popleft()
        if self._problem not in (None, NOT_CHECKED):
            logger.warning("replica usable again (was: %s)", self._problem)
        self._problem = None

    def mark_failed(self, problem: str) -> None:
        """The replica did not answer or is not one: use the primary for a while."""
        if self._problem != problem:
            logger.warning("replica not used: %s", problem)
        self._problem = problem
        self._fresh_as_of = None
        self._next_check_at = self.clock() + RETRY_AFTER_FAILURE_SECONDS


@dataclass
class LaggingReads:
    """One `reads_may_lag()` scope: what it decided and whether it wrote."""

    decided: bool | None = None  # None: not decided yet (decided at the first read)
    wrote: bool = False
    replica_failed: bool = False
    used_replica: bool = False
    reason: str = ""


_SCOPE: contextvars.ContextVar[LaggingReads | None] = contextvars.ContextVar(
    "teletherapy_lagging_reads", default=None
)


@contextlib.contextmanager
def reads_may_lag(*, replica: bool = True) -> Iterator[LaggingReads]:
    """Reads in this block may come from the replica (`replica=False`: never, e.g. on a
    retry after the replica failed)."""
    scope = LaggingReads(decided=None if replica else False)
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def current_scope() -> LaggingReads | None:
    return _SCOPE.get()


def _is_plain_read(clause: Any) -> bool:
    if isinstance(clause, Select):
        return clause._for_update_arg is None
    return isinstance(clause, CompoundSelect)


class RoutingSession(flask_sqlalchemy.session.Session):
    """Flask-SQLAlchemy's session, which sends plain reads of a `reads_may_lag()` scope to the
    replica when one is configured and fresh enough."""

    def get_bind(
        self,
        mapper: Any | None = None,
        clause: Any | None = None,
        bind: Engine | Connection | None = None,
        **kwargs: Any,
    ) -> Engine | Connection:
        if bind is None:
            replica = self._replica_for(clause)
            if replica is not None:
                return replica
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)

    def _replica_for(self, clause: Any) -> Engine | None:
        scope = _SCOPE.get()
        if scope is None or scope.wrote or scope.decided is False:
            return None
        if self._flushing:
            scope.wrote = True
            return None
        if not _is_plain_read(clause):
            if clause is not None:  # a write, a lock or text we cannot read: primary from now
                scope.wrote = True
            return None
        router = find_router()
        if router is None:
            scope.decided = False
            return None
        if scope.decided is None:
            scope.decided, scope.reason = router.usable(self._db.engine)
            if not scope.decided:
                logger.info("reads on the primary: the replica is %s", scope.reason)
        if not scope.decided:
            return None
        scope.used_replica = True
        return router.engine


def find_router() -> ReplicaRouter | None:
    if not has_app_context():
        return None
    router: ReplicaRouter | None = current_app.extensions.get(EXTENSION_KEY)
    return router


def _mark_flush(session: Any, _flush_context: Any) -> None:
    scope = _SCOPE.get()
    if scope is not None:
        scope.wrote = True


def init_app(app: Flask) -> None:
    """Build the replica's engine when DATABASE_REPLICA_URL is set (PostgreSQL only)."""
    if not event.contains(RoutingSession, "after_flush", _mark_flush):
        event.listen(RoutingSession, "after_flush", _mark_flush)
    url = app.config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    url = normalise_database_url(str(url))
    primary = str(app.config.get("SQLALCHEMY_DATABASE_URI") or "")
    if not (url.startswith("postgresql") and primary.startswith("postgresql")):
        raise ConfigurationError("DATABASE_REPLICA_URL needs PostgreSQL for both databases")
    options = engine_options(
        {
            **app.config,
            "SQLALCHEMY_DATABASE_URI": url,
            "DATABASE_POOLER": app.config.get("DATABASE_REPLICA_POOLER"),
        }
    )
    # Short: a replica that does not answer costs a request this long, once per few seconds.
    timeout = int(app.config["DATABASE_REPLICA_CONNECT_TIMEOUT_SECONDS"])
    options["connect_args"] = {**options["connect_args"], "connect_timeout": timeout}
    options["pool_timeout"] = timeout
    # Each read is its own statement: no transaction to commit (or to lose) on the replica,
    # and nothing held open that would delay its replay.
    options["isolation_level"] = "AUTOCOMMIT"
    engine = create_engine(url, **options)
    router = ReplicaRouter(
        engine,
        max_lag_seconds=float(app.config["DATABASE_REPLICA_MAX_LAG_SECONDS"]),
        check_seconds=float(app.config["DATABASE_REPLICA_CHECK_SECONDS"]),
    )

    @event.listens_for(engine, "handle_error")
    def _replica_failed(context: Any) -> None:
        if router.checking:
            return
        scope = _SCOPE.get()
        if scope is not None:
            scope.replica_failed = True
        router.mark_failed(f"failing ({type(context.original_exception).__name__})")

    app.extensions[EXTENSION_KEY] = router
