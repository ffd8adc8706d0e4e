"""Locust scenario for `make load` (issue 14): the mix a national deployment sees.

Run by benchmarks/load/run.py, which seeds the database and writes the file named by
LOAD_SEED_FILE (JSON: clients with bearer tokens, state, ZIP and feed URL; therapists'
feed URLs). Every request names itself so the figures group per endpoint:

* a client (`ClientVisit`) searches (POST /api/v1/matches), looks at the slots of one
  match, and now and then books one of them (POST /api/v1/bookings with its token);
  a 409 (someone else was faster, or the slot is no longer offered) is an expected
  answer, counted apart, not an error;
* a calendar app (`FeedPoller`) polls a person's feed with If-None-Match, so most
  polls are answered 304;
* `/healthz` is asked at a small steady rate in the same run, so every figure can be
  read as a ratio to it.

The dispatchers that send the reminders run beside the web nodes (run.py starts them);
the reminders they send are counted by run.py from the database, not here.
"""

from __future__ import annotations

import json
import os
import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from locust import FastHttpUser, between, events, task

with open(os.environ["LOAD_SEED_FILE"], encoding="utf-8") as _handle:
    SEED: dict[str, Any] = json.load(_handle)

CLIENTS: list[dict[str, Any]] = SEED["clients"]
FEEDS: list[str] = [c["feed_path"] for c in CLIENTS if c.get("feed_path")] + SEED.get(
    "therapist_feed_paths", []
)
# Every web node (LOAD_HOSTS, comma separated); each simulated user sticks to one.
HOSTS = [h for h in os.environ.get("LOAD_HOSTS", "").split(",") if h]
# Outcomes that are not errors but tell what happened (booked, 409 per reason, 304s),
# written to LOAD_OUTCOMES_FILE when the run ends and printed by run.py.
OUTCOMES: dict[str, int] = {}
_LOCK = threading.Lock()
_numbers = iter(range(10**9))


def _count(outcome: str) -> None:
    with _LOCK:
        OUTCOMES[outcome] = OUTCOMES.get(outcome, 0) + 1


def _number() -> int:
    with _LOCK:
        return next(_numbers)


@events.quitting.add_listener
def _write_outcomes(environment: Any, **_kwargs: Any) -> None:
    target = os.environ.get("LOAD_OUTCOMES_FILE")
    if target:
        with open(target, "w", encoding="utf-8") as handle:
            json.dump(OUTCOMES, handle, sort_keys=True)


class _SpreadUser(FastHttpUser):
    """A user bound to one web node, round robin over LOAD_HOSTS."""

    abstract = True

    def __init__(self, environment: Any) -> None:
        self.number = _number()
        if HOSTS:
            self.host = HOSTS[self.number % len(HOSTS)]
        super().__init__(environment)


class ClientVisit(_SpreadUser):
    """A client: search, look at a therapist's slots, sometimes book one."""

    weight = 6
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.client_row = CLIENTS[self.number % len(CLIENTS)]
        self.auth = {"Authorization": f"Bearer {self.client_row['token']}"}
        self.rng = random.Random(self.number)
        self.matches: list[int] = []

    def _search(self) -> None:
        body: dict[str, Any] = {
            "setting": "online",
            "state": self.client_row["state"],
            "zip": self.client_row["zip"],
            "limit": 10,
        }
        if self.rng.random() < 0.3:
            body["languages"] = [{"code": self.rng.choice(["en", "es"]), "required": False}]
        if self.rng.random() < 0.3:
            body["modalities"] = [self.rng.choice(["cbt", "act", "dbt", "psychodynamic"])]
        with self.client.post(
            "/api/v1/matches",
            json=body,
            headers=self.auth,
            name="POST /api/v1/matches",
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"status {answer.status_code}")
                return
            self.matches = [m["therapist"]["id"] for m in answer.json()["matches"]]
            answer.success()

    def _slots(self, therapist_id: int) -> list[str]:
        today = datetime.now(UTC).date()
        first = today + timedelta(days=self.rng.randint(1, 5))
        with self.client.get(
            f"/api/v1/therapists/{therapist_id}/slots",
            params={
                "from": first.isoformat(),
                "to": (first + timedelta(days=6)).isoformat(),
                "setting": "online",
            },
            headers=self.auth,
            name="GET /api/v1/therapists/{id}/slots",
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"status {answer.status_code}")
                return []
            answer.success()
            return [s["start"] for s in answer.json()["slots"]]

    @task(6)
    def search(self) -> None:
        self._search()

    @task(5)
    def view_slots(self) -> None:
        if not self.matches:
            self._search()
        if self.matches:
            self._slots(self.rng.choice(self.matches))

    @task(2)
    def book(self) -> None:
        if not self.matches:
            self._search()
        if not self.matches:
            _count("no_match")
            return
        therapist_id = self.rng.choice(self.matches[:5])
        starts = self._slots(therapist_id)
        if not starts:
            _count("no_slot")
            return
        # Clients favour the first days shown: contention on the same slots is real.
        start = starts[min(len(starts) - 1, int(self.rng.expovariate(0.5)))]
        with self.client.post(
            "/api/v1/bookings",
            json={"therapist_id": therapist_id, "start": start, "setting": "online"},
            headers=self.auth,
            name="POST /api/v1/bookings",
            catch_response=True,
        ) as answer:
            if answer.status_code == 201:
                _count("booked")
                answer.success()
            elif answer.status_code == 409:
                reason = (answer.json() or {}).get("reason") or "conflict"
                _count(f"409 {reason}")
                answer.success()  # an expected answer under contention
            else:
                answer.failure(f"status {answer.status_code}")


class FeedPoller(_SpreadUser):
    """A calendar app polling one person's feed with the ETag it was given."""

    weight = 3
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.rng = random.Random(self.number)
        # A calendar app is subscribed to a few feeds and polls them again and again.
        self.feeds = self.rng.sample(FEEDS, min(3, len(FEEDS)))
        self.etags: dict[str, str] = {}

    @task
    def poll(self) -> None:
        if not self.feeds:
            return
        path = self.rng.choice(self.feeds)
        headers = {"If-None-Match": self.etags[path]} if path in self.etags else {}
        name = "GET /feeds/{token}.ics" + (" (If-None-Match)" if headers else " (first)")
        with self.client.get(path, headers=headers, name=name, catch_response=True) as answer:
            if answer.status_code in (200, 304):
                _count(f"feed {answer.status_code}" + (" conditional" if headers else ""))
                etag = answer.headers.get("ETag")
                if etag:
                    self.etags[path] = etag
                answer.success()
            else:
                answer.failure(f"status {answer.status_code}")


class HealthProbe(_SpreadUser):
    """GET /healthz under the same load: the yardstick of every ratio."""

    weight = 1
    wait_time = between(0.2, 0.4)

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="GET /healthz")
