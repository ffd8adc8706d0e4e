"""Shared localstripe fixtures: a real localstripe on 127.0.0.1, its webhooks, a live app.

Conftest files import the fixtures they need from here (tests/gateways, tests/services,
tests/web), so one localstripe process serves the whole session.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import stripe
from flask import Flask
from werkzeug.serving import make_server

from tests.peers import free_port, peer_missing, wait_for_port

# localstripe 1.15.10's own `localstripe` command has only --port and binds "::" (every
# interface, IPv4 and IPv6); it also pickles its store to the fixed, shared path
# /tmp/localstripe.pickle and reloads it at start. So we serve localstripe's own
# aiohttp app ourselves: bound to 127.0.0.1, with that persistence switched off.
_LAUNCHER = """
import sys
from aiohttp import web
from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None
web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""

SECRET_KEY = "sk_test_teletherapy_localstripe"
PUBLISHABLE_KEY = "pk_test_teletherapy_localstripe"
WEBHOOK_SECRET = "whsec_teletherapy_localstripe"


@pytest.fixture(scope="session")
def localstripe_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a localstripe serving the Stripe API and Stripe.js on loopback."""
    if importlib.util.find_spec("localstripe") is None:
        peer_missing("localstripe is not installed (pip install -e '.[dev]')")
    port = free_port()
    log_path = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        if not wait_for_port(port, timeout=30):
            pytest.fail(f"localstripe did not listen on 127.0.0.1:{port}: {_tail(log_path)}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:]


@pytest.fixture(scope="session")
def stripe_client(localstripe_url: str) -> stripe.StripeClient:
    """A raw client for what the browser (Stripe.js) would do in a real flow."""
    return stripe.StripeClient(
        SECRET_KEY, base_addresses={"api": localstripe_url}, max_network_retries=0
    )


@dataclass(frozen=True)
class ReceivedWebhook:
    body: bytes
    signature: str | None

    @property
    def event(self) -> dict[str, object]:
        data = json.loads(self.body)
        assert isinstance(data, dict)
        return data


class WebhookReceiver:
    """Collects what localstripe POSTs; tests wait for the event they caused."""

    def __init__(self) -> None:
        self._received: list[ReceivedWebhook] = []
        self._changed = threading.Condition()
        self.url = ""

    def add(self, webhook: ReceivedWebhook) -> None:
        with self._changed:
            self._received.append(webhook)
            self._changed.notify_all()

    def wait_for(
        self, predicate: Callable[[dict[str, object]], bool], timeout: float = 15.0
    ) -> ReceivedWebhook:
        def match() -> ReceivedWebhook | None:
            return next((w for w in self._received if predicate(w.event)), None)

        with self._changed:
            found = self._changed.wait_for(match, timeout=timeout)
        if found is None:
            seen = [w.event.get("type") for w in self._received]
            pytest.fail(f"no matching webhook within {timeout}s; received {seen}")
        return found


@pytest.fixture(scope="session")
def webhook_receiver(localstripe_url: str) -> Iterator[WebhookReceiver]:
    """An HTTP server on 127.0.0.1 registered with localstripe's /_config/webhooks."""
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.add(ReceivedWebhook(body, self.headers.get("Stripe-Signature")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep pytest's output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe"
    # localstripe's own config endpoint (no API key needed): POST url, secret and
    # optionally a list of event types; every registered webhook gets every event.
    form = urllib.parse.urlencode({"url": receiver.url, "secret": WEBHOOK_SECRET}).encode()
    config_url = f"{localstripe_url}/_config/webhooks/teletherapy-tests"
    with urllib.request.urlopen(config_url, data=form, timeout=10) as response:
        assert response.status == 200
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def register_webhook(
    localstripe_url: str, name: str, url: str, secret: str = WEBHOOK_SECRET
) -> None:
    """Point localstripe's webhook `name` at `url` (re-registering a name replaces it)."""
    form = urllib.parse.urlencode({"url": url, "secret": secret}).encode()
    with urllib.request.urlopen(
        f"{localstripe_url}/_config/webhooks/{name}", data=form, timeout=10
    ) as response:
        assert response.status == 200


class LiveServer:
    """The Flask app served by werkzeug on 127.0.0.1 in a thread (for webhooks, browsers)."""

    def __init__(self, app: Flask) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()


def stripe_settings(localstripe_url: str) -> dict[str, str]:
    """App settings that point the app's Stripe gateway and Stripe.js at localstripe."""
    return {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": localstripe_url,
    }
