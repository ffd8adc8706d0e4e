"""Prepared statements that outlive a transaction (PostgreSQL through psycopg 3).

psycopg prepares a statement on the server once it has run it five times on a connection
(`prepare_threshold`), so PostgreSQL stops parsing and planning it again. But psycopg
forgets every prepared statement on ROLLBACK (the transaction may have dropped what they
name), and SQLAlchemy ends every transaction it did not commit with a ROLLBACK: a read-only
request's when its session closes, a refused booking's when it is undone. So in practice
nothing stayed prepared, and every statement of every request was parsed and planned (the
booking view alone: 0.85 ms of the database's CPU per refused booking, for a 0.09 ms read).

A transaction that only read ends the same way whether it commits or rolls back. Here, when
SQLAlchemy rolls back a transaction on which nothing but plain SELECTs ran, it is committed
instead, and psycopg keeps what it prepared. Anything else (INSERT, UPDATE, DELETE, a CTE,
SET, a SAVEPOINT, a SELECT calling a function whose effect a commit would keep) marks the
transaction as having written, and it rolls back exactly as before; so does a transaction
already in error. Not installed behind PgBouncer, where psycopg prepares nothing.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

logger = logging.getLogger(__name__)

_WROTE = "teletherapy_wrote"
# A SELECT whose effect would differ between COMMIT and ROLLBACK: session settings made
# with set_config(..., false) and notifications survive only a commit.
_KEEPS_EFFECT = re.compile(r"\b(set_config|pg_notify)\s*\(", re.IGNORECASE)


def only_reads(statement: str, context: Any) -> bool:
    """True for a plain SELECT, which a COMMIT and a ROLLBACK end alike."""
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return False
    head = statement.lstrip()[:6]
    return head.upper() == "SELECT" and not _KEEPS_EFFECT.search(statement)


def install(engine: Engine) -> None:
    """Commit, instead of rolling back, the transactions of `engine` that only read."""
    if event.contains(engine, "rollback", _end_read_only):
        return
    event.listen(engine, "begin", _begin)
    event.listen(engine, "before_cursor_execute", _note_statement)
    event.listen(engine, "rollback", _end_read_only)


def _begin(conn: Connection) -> None:
    conn.info[_WROTE] = False


def _note_statement(
    conn: Connection, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
) -> None:
    if conn.info.get(_WROTE) is False and not only_reads(statement, context):
        conn.info[_WROTE] = True


def _end_read_only(conn: Connection) -> None:
    """Runs just before SQLAlchemy's ROLLBACK; after a COMMIT that ROLLBACK finds nothing
    to do, and psycopg keeps its prepared statements."""
    wrote = conn.info.pop(_WROTE, True)
    if wrote is not False or conn.invalidated:
        return
    dbapi = conn.connection.dbapi_connection
    if not isinstance(dbapi, psycopg.Connection):
        return
    if dbapi.info.transaction_status != TransactionStatus.INTRANS:
        return  # idle (nothing to end) or in error (only a rollback will do)
    try:
        dbapi.commit()
    except psycopg.Error:
        # The ROLLBACK that follows meets the same broken connection and reports it.
        logger.warning("could not end a read-only transaction with COMMIT", exc_info=True)
