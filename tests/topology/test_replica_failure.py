"""The replica stopping while clients keep asking both nodes costs no request."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import requests

from tests.topology.conftest import MATCH_REQUEST, replica_sql, wait_for_replay


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
