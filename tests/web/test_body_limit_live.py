"""A 200 MB body sent to a real gunicorn worker is refused with 413 and never held in memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers import free_port, wait_for_port

pytestmark = pytest.mark.slow

WSGI = """
from teletherapy import create_app
app = create_app(
    {{"TESTING": True, "SECRET_KEY": "x" * 40, "RATELIMIT_ENABLED": False,
      "SQLALCHEMY_DATABASE_URI": "sqlite:///{db}"}},
    instance_path="{instance}",
)
"""
MB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """(port, worker pid) of one gunicorn sync worker serving the app."""
    tmp_path = tmp_path_factory.mktemp("body-limit")
    (tmp_path / "limit_app.py").write_text(
        WSGI.format(db=tmp_path / "app.sqlite3", instance=tmp_path / "instance")
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "--chdir", str(tmp_path), "--timeout", "60", "limit_app:app"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert wait_for_port(port, timeout=60), "gunicorn did not start"
        children: list[str] = []
        deadline = time.monotonic() + 60
        while not children and time.monotonic() < deadline:
            time.sleep(0.2)
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        # The worker loads the app before it answers: ask once so the baseline includes it.
        send(port, b"GET /nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", iter(()))
        yield port, int(children[0])
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")  # pragma: no cover


def send(port: int, head: bytes, chunks: Iterator[bytes]) -> bytes:
    """Send the head, stream the chunks in a thread, return the response's first bytes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    sock.sendall(head)

    def stream() -> None:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed: exactly what we want

    sender = threading.Thread(target=stream, daemon=True)
    sender.start()
    try:
        return sock.recv(65536)
    finally:
        sender.join(timeout=30)
        sock.close()


def body(total: int) -> Iterator[bytes]:
    block = b"a" * MB
    for _ in range(total // MB):
        yield block


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_200_mb_body_with_a_length_is_refused_before_it_is_read(
    server: tuple[int, int],
) -> None:
    port, worker = server
    before = peak_rss_mb(worker)
    head = (
        b"POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {200 * MB}\r\n\r\n".encode()
    )
    answer = send(port, head, body(200 * MB))
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"application/problem+json" in answer
    assert peak_rss_mb(worker) - before < 20


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_200_mb_chunked_form_field_is_refused_at_the_limit(server: tuple[int, int]) -> None:
    port, worker = server
    before = peak_rss_mb(worker)
    head = (
        b"POST /sign-up HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )

    def chunked() -> Iterator[bytes]:
        yield b"%x\r\ndisplay_name=\r\n" % len(b"display_name=")
        for block in body(200 * MB):
            yield b"%x\r\n" % len(block) + block + b"\r\n"
        yield b"0\r\n\r\n"

    started = time.monotonic()
    answer = send(port, head, chunked())
    assert answer.startswith(b"HTTP/1.1 413")
    assert time.monotonic() - started < 20
    assert peak_rss_mb(worker) - before < 20
    assert os.path.exists(f"/proc/{worker}")  # the worker survived
