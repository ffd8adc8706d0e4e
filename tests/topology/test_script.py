"""deploy/topology.py's command line: the interface the load test relies on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers import free_port
from tests.topology.conftest import ROOT, load_topology_module


def test_up_takes_the_documented_options() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "topology.py"), "up", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in ("--dir", "--web-ports", "--pg-port", "--replica-port", "--seed-demo"):
        assert option in result.stdout


def test_down_on_a_folder_with_nothing_running_stops_nothing_and_succeeds(
    tmp_path: Path,
) -> None:
    (tmp_path / "topology.json").write_text(json.dumps({"pids": {}}))
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "topology.py"), "down", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "topology.json").exists()


def test_a_part_that_exits_is_reported_with_the_last_lines_of_its_log(tmp_path: Path) -> None:
    """CI prints the error, not the files it names: the log's end travels in the message."""
    topology = load_topology_module()
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "smtp.log").write_text("".join(f"line {n}\n" for n in range(40)) + "bind failed\n")
    child = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    child.wait()
    options = topology.Options(dir=tmp_path, smtp_port=free_port(), pgbouncer=False)
    with pytest.raises(topology.TopologyError) as raised:
        topology._wait_for_children(options, logs, {"smtp": child})
    message = str(raised.value)
    assert "smtp exited with 3" in message
    assert message.endswith("bind failed")
    assert "line 39" in message and "line 10" not in message  # the tail, not the whole log


def test_free_ports_lie_below_the_ephemeral_range_and_are_not_handed_out_twice() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert all(10000 <= port < low for port in ports)


def test_free_ports_skip_the_ports_chromium_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    """10080 is on Chromium's restricted list (net::ERR_UNSAFE_PORT): a live server there
    could not be opened by the browser tests. Start the search right on it."""
    from tests import peers

    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    monkeypatch.setattr(peers.random, "randrange", lambda width: 10080 - peers._PORTS_LOW)
    monkeypatch.setattr(peers, "_handed_out", set())
    assert 10080 < peers.free_port() < peers._EPHEMERAL_LOW  # 10081 unless taken
