"""Deployment files: the compose file follows the compose specification."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_compose_file_is_valid_against_the_compose_spec() -> None:
    exe = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    result = subprocess.run(
        [exe, "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_one_dispatcher_and_several_web_workers() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert '"scheduler"' in text and "replicas: 1" in text
    assert '"--workers", "4"' in text
