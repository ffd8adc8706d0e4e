"""Helpers for tests that need a real peer: skip locally, fail in CI (CI=true)."""

from __future__ import annotations

import os
import random
import socket
import time
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def peer_missing(reason: str) -> NoReturn:
    """A needed peer is absent: fail in CI, skip on a developer's machine."""
    if IN_CI:
        pytest.fail(f"required peer missing in CI: {reason}")
    pytest.skip(reason)


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as ranges:
            return int(ranges.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_EPHEMERAL_LOW = _ephemeral_low()
_PORTS_LOW = 10000
# Ports Chromium refuses to open (net::ERR_UNSAFE_PORT; its restricted list, net/base/
# port_util.cc): above _PORTS_LOW only 10080. A browser test's live server got it once.
_BROWSER_UNSAFE = frozenset({10080})
_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, below the kernel's ephemeral range.

    A port the kernel hands out for `bind(0)` lies in the ephemeral range, where any
    outgoing connection (the suite's own, to PostgreSQL and Redis) can take it between this
    call and the server's bind: in CI a web node and PgBouncer failed to start that way.
    Below the range only listeners compete; each xdist worker searches its own slice so
    two workers never hand out the same port, and a port is handed out once per process.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    slices = 8
    width = (_EPHEMERAL_LOW - _PORTS_LOW) // slices
    start = _PORTS_LOW + (int(worker) % slices if worker.isdigit() else 0) * width
    offset = random.randrange(width)
    for step in range(width):
        port = start + (offset + step) % width
        if port in _handed_out or port in _BROWSER_UNSAFE:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


def wait_for_port(port: int, *, host: str = "127.0.0.1", timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False
