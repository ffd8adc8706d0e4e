"""A real topology for these tests: PostgreSQL with a streaming replica and two gunicorn
nodes, started once per session by deploy/topology.py's own code."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
import requests
from flask import Flask

from teletherapy import create_app
from teletherapy.extensions import db
from teletherapy.models import User
from tests.booking_setup import set_availability
from tests.conftest import PASSWORD
from tests.peers import free_port, peer_missing

ROOT = Path(__file__).resolve().parents[2]
MAX_LAG_SECONDS = 2.0  # what the nodes are started with (deploy/topology.py's default)
_emails = itertools.count(1)


def load_topology_module() -> ModuleType:
    """deploy/ is scripts, not a package: load the file the make target runs."""
    name = "teletherapy_deploy_topology"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "deploy" / "topology.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def topology_module() -> ModuleType:
    return load_topology_module()


@pytest.fixture(scope="session")
def topology(
    topology_module: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    missing = topology_module.missing_binaries()
    if missing:
        peer_missing(f"the topology needs {', '.join(missing)}")
    if importlib.util.find_spec("aiosmtpd") is None:
        peer_missing("the topology needs aiosmtpd (dev extras)")
    folder = tmp_path_factory.mktemp("topology")
    options = topology_module.Options(
        dir=folder,
        web_ports=[free_port(), free_port()],
        pg_port=free_port(),
        replica_port=free_port(),
        # Every port chosen free now: the defaults (PgBouncer's 56432) lie in Linux's
        # ephemeral range, where any outgoing connection may hold them (CI, 2026-12-03).
        pgbouncer_port=free_port(),
        redis_port=free_port(),
        smtp_port=free_port(),
        workers=1,  # two cores shared by everything: one worker per node is enough here
        dispatchers=0,  # nothing here sends mail; `up` starts two by default
        rate_limits=False,
        max_lag_seconds=MAX_LAG_SECONDS,
        durable=False,
    )
    try:
        started = topology_module.up(options)
    except topology_module.TopologyError as exc:
        pytest.fail(f"the topology did not start: {exc}")
    started["options"] = options
    try:
        yield started
    finally:
        topology_module.down(folder)


def replica_sql(topology: dict[str, Any], statement: str) -> Any:
    with psycopg.connect(topology["replica_url"], autocommit=True) as conn:
        row = conn.execute(statement).fetchone()
        return row[0] if row else None


def primary_lsn(topology: dict[str, Any]) -> str:
    with psycopg.connect(topology["primary_url"], autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        return str(row[0])


def wait_for_replay(topology: dict[str, Any], timeout: float = 15.0) -> None:
    """Until the replica has replayed everything the primary wrote so far."""
    import time

    target = primary_lsn(topology)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if replica_sql(topology, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
            return
        time.sleep(0.05)
    raise AssertionError("the replica did not catch up")


@pytest.fixture
def topology_app(topology: dict[str, Any], tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """An app in this process on the topology's databases (more settings as arguments)."""
    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "topology-tests",
                "SQLALCHEMY_DATABASE_URI": topology["primary_url"],
                "DATABASE_REPLICA_URL": topology["replica_url"],
                "RATELIMIT_ENABLED": False,
                "WTF_CSRF_ENABLED": False,
                "PUBLIC_URL": "http://testserver",
                **config,
            },
            instance_path=tmp_path / f"instance-{len(made)}",
        )
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
            router = app.extensions.get("replica")
            if router is not None:
                router.engine.dispose()


@pytest.fixture
def people(topology_app: Callable[..., Flask]) -> dict[str, Any]:
    """A bookable therapist (Mon-Fri 09-17 New York, online) and a client, on the primary."""
    from teletherapy.services.accounts.users import create_user

    app = topology_app()
    n = next(_emails)
    with app.app_context():
        therapist = create_user(
            email=f"topology-therapist{n}-{id(app)}@example.org",
            password=PASSWORD,
            role="therapist",
            display_name=f"Topology Therapist {n}",
        )
        therapist_id = set_availability(therapist)
        client = create_user(
            email=f"topology-client{n}-{id(app)}@example.org",
            password=PASSWORD,
            role="client",
            state="NY",
            zip="10027",
        )
        found = db.session.get(User, client.id)
        assert found is not None
        return {
            "therapist_id": therapist_id,
            "therapist_user_id": therapist.id,
            "therapist_email": therapist.email,
            "client_id": client.id,
            "client_email": client.email,
        }


def token(base: str, email: str) -> dict[str, str]:
    answer = requests.post(
        f"{base}/api/v1/tokens", json={"email": email, "password": PASSWORD}, timeout=30
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


MATCH_REQUEST = {"setting": "online", "state": "NY", "limit": 100}


def opening_of(matches: dict[str, Any], therapist_id: int) -> str | None:
    for match in matches["matches"]:
        if match["therapist"]["id"] == therapist_id:
            return str(match["next_opening"])
    raise AssertionError(f"therapist {therapist_id} not among the matches")
