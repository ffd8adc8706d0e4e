"""deploy/topology.py's command line: the interface the load test relies on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.topology.conftest import ROOT


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
