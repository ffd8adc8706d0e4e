"""The topology (deploy/topology.py) end to end: two gunicorn nodes on a primary and its
streaming replica, which reads go where, the staleness check, and the replica failing.

One module on purpose: under pytest-xdist (`--dist loadfile`) one worker runs it, so the
session starts one topology, not one per worker. The replica is stopped last.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update
from sqlalchemy.exc import DBAPIError

from teletherapy.extensions import db
from teletherapy.models import User
from teletherapy.replica import ReplicaRouter, reads_may_lag
from tests.conftest import PASSWORD
from tests.peers import free_port
from tests.topology.conftest import (
    MATCH_REQUEST,
    MAX_LAG_SECONDS,
    opening_of,
    replica_sql,
    token,
    wait_for_replay,
)

# ---------------------------------------------------------------- two nodes


def _slots(base: str, therapist_id: int) -> list[str]:
    start = datetime.now(UTC).date()
    answer = requests.get(
        f"{base}/api/v1/therapists/{therapist_id}/slots",
        params={"from": start.isoformat(), "to": (start + timedelta(days=14)).isoformat()},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return [s["start"] for s in answer.json()["slots"]]


def test_a_booking_made_through_node_a_is_seen_by_node_b(
    topology: dict[str, Any], people: dict[str, Any]
) -> None:
    node_a, node_b = topology["web"]
    headers = token(node_a, people["client_email"])
    start = _slots(node_a, people["therapist_id"])[0]

    made = requests.post(
        f"{node_a}/api/v1/bookings",
        json={"therapist_id": people["therapist_id"], "start": start, "setting": "online"},
        headers=headers,
        timeout=30,
    )

    assert made.status_code == 201, made.text
    booking = made.json()
    seen = requests.get(f"{node_b}/api/v1/bookings/{booking['id']}", headers=headers, timeout=30)
    assert seen.status_code == 200, seen.text
    assert seen.json()["start"] == start and seen.json()["status"] == booking["status"]
    listed = requests.get(f"{node_b}/api/v1/bookings", headers=headers, timeout=30).json()
    assert booking["id"] in [b["id"] for b in listed["bookings"]]
    # The booking flow reads the primary: node B no longer offers the slot, at once.
    assert start not in _slots(node_b, people["therapist_id"])
    again = requests.post(
        f"{node_b}/api/v1/bookings",
        json={"therapist_id": people["therapist_id"], "start": start, "setting": "online"},
        headers=headers,
        timeout=30,
    )
    assert again.status_code == 409


# ---------------------------------------------------------------- PgBouncer (transaction pooling)


def _pgbouncer(topology: dict[str, Any], command: str) -> list[dict[str, Any]]:
    """PgBouncer's admin console (SHOW ...): simple protocol, autocommit."""
    admin = topology["web_database_url"].rsplit("/", 1)[0] + "/pgbouncer"
    with psycopg.connect(admin, autocommit=True, prepare_threshold=None) as conn:
        cursor = conn.cursor()
        cursor.execute(command, prepare=False)
        names = [c.name for c in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _transactions_through_pgbouncer(topology: dict[str, Any]) -> int:
    stats = _pgbouncer(topology, "SHOW STATS")
    return int(next(s for s in stats if s["database"] == "teletherapy")["total_xact_count"])


def _in_turns(first: Any, second: Any, rounds: int = 8) -> None:
    """One statement, in a transaction each time, on one connection and then on another.
    PgBouncer hands an idle pool's last used server connection out again, so psycopg's
    default (prepare as "_pg3_0" at the sixth run) prepares it there for the first
    client, and the second one's "_pg3_0" collides with it."""
    tag = uuid.uuid4().hex  # not a statement run before in this session
    for conn in (first, second):
        for n in range(rounds):
            with conn.begin():
                conn.exec_driver_sql(f"SELECT %(n)s::int + 1 -- {tag}", {"n": n})


def test_the_web_nodes_reach_the_primary_through_pgbouncer_in_transaction_pooling(
    topology: dict[str, Any], people: dict[str, Any], topology_app: Callable[..., Flask]
) -> None:
    assert topology["pgbouncer"] and topology["web_database_url"] != topology["primary_url"]
    pools = _pgbouncer(topology, "SHOW POOLS")
    assert next(p for p in pools if p["database"] == "teletherapy")["pool_mode"] == "transaction"
    for node in topology["web"]:
        before = _transactions_through_pgbouncer(topology)
        headers = token(node, people["client_email"])  # the primary: an account's token
        assert requests.get(f"{node}/api/v1/me", headers=headers, timeout=30).status_code == 200
        assert _transactions_through_pgbouncer(topology) > before
    # What a direct connection sends as startup options, the database sets itself.
    app = topology_app(
        SQLALCHEMY_DATABASE_URI=topology["web_database_url"], DATABASE_POOLER="pgbouncer"
    )
    with app.app_context(), db.engine.connect() as conn:
        shown = [
            conn.exec_driver_sql(f"SHOW {n}").scalar()
            for n in ("TimeZone", "jit", "statement_timeout")
        ]
        assert shown == ["UTC", "off", "5s"]
        conn.commit()
        # The app's connections prepare nothing: the same statement in turns works.
        with db.engine.connect() as other:
            _in_turns(conn, other)
    # The control: psycopg's default (prepare after 5 executions) breaks the same way.
    plain = topology_app(
        SQLALCHEMY_DATABASE_URI=topology["web_database_url"],
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"options": ""}},  # libpq sends none
    )
    with plain.app_context(), db.engine.connect() as one, db.engine.connect() as two:
        with pytest.raises(DBAPIError) as failed:
            _in_turns(one, two)
        assert "_pg3_" in str(failed.value)


def test_fifty_concurrent_bookings_of_one_slot_through_pgbouncer_book_it_once(
    topology: dict[str, Any], people: dict[str, Any], topology_app: Callable[..., Flask]
) -> None:
    from teletherapy.services.accounts.users import create_user

    nodes = topology["web"]
    app = topology_app()
    with app.app_context():
        emails = [
            create_user(
                email=f"fifty-{n}-{people['client_id']}@example.org",
                password=PASSWORD,
                role="client",
                state="NY",
                zip="10027",
            ).email
            for n in range(5)
        ]
    headers = [token(nodes[n % 2], email) for n, email in enumerate(emails)]
    start = _slots(nodes[0], people["therapist_id"])[0]
    body = {"therapist_id": people["therapist_id"], "start": start, "setting": "online"}
    gate = threading.Barrier(50)

    def book(n: int) -> int:
        gate.wait()
        answer = requests.post(
            f"{nodes[n % 2]}/api/v1/bookings", json=body, headers=headers[n % 5], timeout=60
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(book, range(50)))

    assert codes.count(201) == 1 and codes.count(409) == 49, codes
    with psycopg.connect(topology["primary_url"]) as conn:
        held = conn.execute(
            "SELECT count(*) FROM bookings WHERE therapist_id = %s AND start_at = %s"
            " AND status IN ('held', 'confirmed')",
            (people["therapist_id"], datetime.fromisoformat(start)),
        ).fetchone()
    assert held == (1,)
    # Both nodes still answer matching and the directory through the pooler.
    for node in nodes:
        assert requests.post(f"{node}/api/v1/matches", json=MATCH_REQUEST, timeout=30).ok


def test_calendar_feeds_answer_on_both_nodes_through_pgbouncer(
    topology: dict[str, Any], people: dict[str, Any]
) -> None:
    node_a, node_b = topology["web"]
    headers = token(node_a, people["client_email"])
    start = _slots(node_a, people["therapist_id"])[0]
    made = requests.post(
        f"{node_a}/api/v1/bookings",
        json={"therapist_id": people["therapist_id"], "start": start, "setting": "online"},
        headers=headers,
        timeout=30,
    )
    assert made.status_code == 201, made.text
    address = requests.get(f"{node_b}/api/v1/me/calendar-feed", headers=headers, timeout=30)
    assert address.status_code == 200, address.text
    path = "/feeds/" + address.json()["url"].rsplit("/feeds/", 1)[1]
    wait_for_replay(topology)  # feeds may read the replica
    bodies = []
    for node in (node_a, node_b):
        answer = requests.get(f"{node}{path}", timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"].startswith("text/calendar")
        again = requests.get(
            f"{node}{path}", headers={"If-None-Match": answer.headers["ETag"]}, timeout=30
        )
        assert again.status_code == 304
        bodies.append(answer.text)
    assert all("BEGIN:VEVENT" in b for b in bodies)


def test_matching_never_offers_a_slot_booked_longer_ago_than_the_staleness_bound(
    topology: dict[str, Any], people: dict[str, Any], topology_app: Callable[..., Flask]
) -> None:
    node_a, node_b = topology["web"]
    headers = token(node_a, people["client_email"])
    wait_for_replay(topology)
    first = requests.post(f"{node_b}/api/v1/matches", json=MATCH_REQUEST, timeout=30)
    opening = opening_of(first.json(), people["therapist_id"])
    assert opening is not None
    # The control: a reader that trusts the replica for an hour (it checked before the pause).
    trusting = topology_app(DATABASE_REPLICA_MAX_LAG_SECONDS=3600).test_client()
    assert (
        opening_of(
            trusting.post("/api/v1/matches", json=MATCH_REQUEST).get_json(), people["therapist_id"]
        )
        == opening
    )
    replica_sql(topology, "SELECT pg_wal_replay_pause()")
    try:
        made = requests.post(
            f"{node_a}/api/v1/bookings",
            json={"therapist_id": people["therapist_id"], "start": opening, "setting": "online"},
            headers=headers,
            timeout=30,
        )
        assert made.status_code == 201, made.text
        booked_at = time.monotonic()
        # It still sees the old opening on the paused replica: what follows is the
        # staleness check's doing.
        stale = trusting.post("/api/v1/matches", json=MATCH_REQUEST).get_json()
        assert opening_of(stale, people["therapist_id"]) == opening

        time.sleep(max(0.0, booked_at + MAX_LAG_SECONDS + 0.6 - time.monotonic()))
        for node in (node_a, node_b):
            answer = requests.post(f"{node}/api/v1/matches", json=MATCH_REQUEST, timeout=30)
            assert answer.status_code == 200, answer.text
            assert opening_of(answer.json(), people["therapist_id"]) != opening
    finally:
        replica_sql(topology, "SELECT pg_wal_replay_resume()")
    wait_for_replay(topology)


# ---------------------------------------------------------------- routing and staleness


@contextmanager
def replica_statements(router: ReplicaRouter) -> Iterator[list[str]]:
    """The statements the app sends to the replica (its own staleness checks left out)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "pg_is_in_recovery" not in statement:
            seen.append(statement)

    event.listen(router.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(router.engine, "before_cursor_execute", record)


def _router(app: Flask) -> ReplicaRouter:
    router = app.extensions["replica"]
    assert isinstance(router, ReplicaRouter)
    return router


def _bearer(client: FlaskClient, email: str) -> dict[str, str]:
    answer = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def test_matching_the_directory_and_feeds_read_the_replica_and_the_booking_flow_does_not(
    topology: dict[str, Any], people: dict[str, Any], topology_app: Callable[..., Flask]
) -> None:
    app = topology_app()
    client = app.test_client()
    headers = _bearer(client, people["client_email"])
    feed = client.get("/api/v1/me/calendar-feed", headers=headers).get_json()["url"]
    feed_path = "/" + feed.split("://", 1)[1].split("/", 1)[1]
    wait_for_replay(topology)
    therapist = people["therapist_id"]
    today = datetime.now(UTC).date()
    week = f"from={today}&to={today + timedelta(days=7)}"
    lagging = [
        ("POST", "/api/v1/matches", MATCH_REQUEST),
        ("GET", "/api/v1/therapists", None),
        ("GET", f"/api/v1/therapists/{therapist}", None),
        ("GET", f"/therapists/{therapist}", None),
        ("GET", "/find", None),
        ("GET", feed_path, None),
    ]
    own = [
        ("GET", f"/api/v1/therapists/{therapist}/slots?{week}", None),
        ("GET", "/api/v1/bookings", None),
        ("GET", "/api/v1/me", None),
        ("GET", "/healthz", None),
    ]
    for method, path, body in lagging + own:
        with replica_statements(_router(app)) as seen:
            answer = client.open(path, method=method, json=body, headers=headers)
        assert answer.status_code == 200, (path, answer.get_data(as_text=True)[:300])
        if (method, path, body) in lagging:
            assert seen, f"{method} {path} did not read the replica"
        else:
            assert not seen, f"{method} {path} read the replica: {seen[:2]}"


def test_writes_in_a_lagging_scope_go_to_the_primary_and_so_do_the_reads_after_them(
    topology: dict[str, Any], people: dict[str, Any], topology_app: Callable[..., Flask]
) -> None:
    app = topology_app()
    wait_for_replay(topology)
    router = _router(app)
    with app.app_context():
        assert db.session.get_bind(clause=select(User)) is db.engine  # outside any scope
        with replica_statements(router) as seen, reads_may_lag() as scope:
            assert db.session.get_bind(clause=select(User)) is router.engine
            assert db.session.scalar(select(User.id).where(User.id == people["client_id"]))
            assert len(seen) == 1 and scope.used_replica
            # A lock is a write's first step: the primary, and the primary from then on.
            locked = select(User).where(User.id == people["client_id"]).with_for_update()
            assert db.session.get_bind(clause=locked) is db.engine
            assert db.session.get_bind(clause=select(User)) is db.engine
        db.session.rollback()
        with replica_statements(router) as seen, reads_may_lag() as scope:
            user = db.session.get(User, people["client_id"])
            assert user is not None and len(seen) == 1
            user.display_name = "Renamed in a lagging scope"
            db.session.flush()  # an UPDATE: on the primary (a standby would refuse it)
            assert scope.wrote
            db.session.execute(update(User).where(User.id == user.id).values(zip="10025"))
            again = db.session.scalar(select(User.zip).where(User.id == user.id))
            assert again == "10025"  # read back from the primary, in the same transaction
            assert len(seen) == 1
            db.session.commit()
    with psycopg.connect(topology["primary_url"]) as conn:
        row = conn.execute(
            "SELECT display_name FROM users WHERE id = %s", (people["client_id"],)
        ).fetchone()
    assert row == ("Renamed in a lagging scope",)


def test_an_idle_primary_does_not_make_the_replica_stale_and_a_paused_replay_does(
    topology: dict[str, Any],
    people: dict[str, Any],
    topology_app: Callable[..., Flask],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = topology_app(DATABASE_REPLICA_MAX_LAG_SECONDS=1, DATABASE_REPLICA_CHECK_SECONDS=0.2)
    router = _router(app)
    wait_for_replay(topology)
    with app.app_context():
        assert router.usable(db.engine) == (True, "")
        time.sleep(1.5)  # longer than the bound, and nothing written meanwhile
        assert router.usable(db.engine) == (True, "")
        lag = router.lag_seconds()
        assert lag is not None and lag < 0.5

    replica_sql(topology, "SELECT pg_wal_replay_pause()")
    try:
        with psycopg.connect(topology["primary_url"]) as conn:
            conn.execute(
                "UPDATE users SET display_name = 'written while paused' WHERE id = %s",
                (people["client_id"],),
            )
        time.sleep(1.5)
        with app.app_context():
            usable, why = router.usable(db.engine)
        assert not usable and why.startswith("stale")
        client = app.test_client()
        caplog.set_level(logging.INFO, logger="teletherapy.replica")
        with replica_statements(router) as seen:
            answer = client.post("/api/v1/matches", json=MATCH_REQUEST)
        assert answer.status_code == 200
        assert not seen
        assert any("reads on the primary: the replica is stale" in m for m in caplog.messages)
    finally:
        replica_sql(topology, "SELECT pg_wal_replay_resume()")
    wait_for_replay(topology)
    time.sleep(0.3)
    with app.app_context():
        assert router.usable(db.engine) == (True, "")


def test_a_replica_that_does_not_answer_is_skipped_quickly(
    topology: dict[str, Any], topology_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/teletherapy"
    app = topology_app(DATABASE_REPLICA_URL=closed)
    client = app.test_client()
    caplog.set_level(logging.INFO, logger="teletherapy.replica")
    started = time.monotonic()
    answers = [client.post("/api/v1/matches", json=MATCH_REQUEST) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert time.monotonic() - started < 10
    assert any("replica not used: down" in m for m in caplog.messages)
    # Asked once, then left alone for a while (not once per request).
    assert sum("replica not used" in m for m in caplog.messages) == 1


def test_a_replica_connection_lost_inside_a_request_is_retried_on_the_primary(
    topology: dict[str, Any],
    people: dict[str, Any],
    topology_app: Callable[..., Flask],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = topology_app()
    router = _router(app)
    wait_for_replay(topology)
    killed: list[int] = []

    def kill_once(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        # The replica ends this very connection just before the view's first read runs on it.
        if killed or "pg_is_in_recovery" in statement:
            return
        killed.append(cursor.connection.info.backend_pid)
        with psycopg.connect(topology["replica_url"], autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (killed[0],))

    event.listen(router.engine, "before_cursor_execute", kill_once)
    caplog.set_level(logging.INFO)
    try:
        answer = app.test_client().get("/api/v1/therapists?limit=100")
    finally:
        event.remove(router.engine, "before_cursor_execute", kill_once)
    assert killed
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert people["therapist_id"] in [t["id"] for t in answer.get_json()["therapists"]]
    assert any("answering from the primary" in m for m in caplog.messages)


# ---------------------------------------------------------------- the replica stops (last)


def _returned(topology: dict[str, Any]) -> int:
    return int(
        replica_sql(
            topology, "SELECT tup_returned FROM pg_stat_database WHERE datname = 'teletherapy'"
        )
    )


def test_the_replica_stopping_mid_run_costs_no_request(
    topology: dict[str, Any], topology_module: ModuleType, people: dict[str, Any]
) -> None:
    wait_for_replay(topology)
    statuses: list[tuple[str, int]] = []
    stop = threading.Event()

    def ask(base: str) -> None:
        with requests.Session() as session:
            while not stop.is_set():
                for method, path, body in (
                    ("POST", "/api/v1/matches", MATCH_REQUEST),
                    ("GET", "/api/v1/therapists", None),
                    ("GET", f"/api/v1/therapists/{people['therapist_id']}", None),
                ):
                    try:
                        answer = session.request(method, base + path, json=body, timeout=30)
                        statuses.append((path, answer.status_code))
                    except requests.RequestException as exc:
                        statuses.append((f"{path} {type(exc).__name__}", 0))

    before = _returned(topology)
    clients = [threading.Thread(target=ask, args=(base,)) for base in topology["web"]]
    for client in clients:
        client.start()
    replica = Path(topology["data"]["replica"])
    try:
        time.sleep(2.5)
        served_by_replica = _returned(topology) - before
        asked_before_stop = len(statuses)
        topology_module.stop_postgres(replica, Path(topology["logs"]), mode="fast")
        time.sleep(3.0)
    finally:
        stop.set()
        for client in clients:
            client.join(60)
        if not (replica / "postmaster.pid").exists():
            topology_module.start_replica_server(replica, Path(topology["logs"]))

    assert asked_before_stop > 0 and len(statuses) > asked_before_stop
    assert served_by_replica > 100, "the nodes were not reading from the replica"
    failed = [s for s in statuses if s[1] != 200]
    assert not failed, f"{len(failed)} of {len(statuses)} requests failed: {failed[:5]}"
    wait_for_replay(topology)


def test_mail_sent_to_the_topologys_smtp_sink_lands_in_its_maildir(
    topology: dict[str, Any],
) -> None:
    import mailbox
    import smtplib
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"] = "no-reply@teletherapy.test", "client@example.org"
    message["Subject"] = "Topology mail check"
    message.set_content("Reminder")
    with smtplib.SMTP("127.0.0.1", topology["options"].smtp_port, timeout=10) as smtp:
        smtp.send_message(message)
    kept = [m["Subject"] for m in mailbox.Maildir(topology["mail_dir"], create=False)]
    assert "Topology mail check" in kept
