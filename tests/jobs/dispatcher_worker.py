"""A dispatcher process for tests and benchmarks: its own app, sweeping until the outbox is empty.

python -m tests.jobs.dispatcher_worker --database-url URL --outbox DIR --owner NAME
    [--lease-seconds N] [--batch N] [--stall-after N --stall-marker FILE]
    [--ready FILE --go FILE] [--timeout SECONDS]

With --stall-after N it hands N messages to the mailer, then writes --stall-marker and
hangs inside the next send, holding the rest of its batch, so a test can SIGKILL it there.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from teletherapy import create_app
from teletherapy.clock import utcnow
from teletherapy.extensions import db
from teletherapy.gateways.mail import FileMailer, OutgoingMessage
from teletherapy.models import OutboxMessage
from teletherapy.services.messaging.outbox import dispatch_due


class StallingMailer(FileMailer):
    def __init__(self, directory: Path, *, sender: str, stall_after: int, marker: Path) -> None:
        super().__init__(directory, sender=sender)
        self.stall_after = stall_after
        self.marker = marker
        self.count = 0

    def send(self, message: OutgoingMessage) -> str:
        if self.count == self.stall_after:
            self.marker.write_text(str(self.count))
            time.sleep(3600)  # killed here, mid-batch
        self.count += 1
        return super().send(message)


def unfinished() -> int:
    """Messages a sweep has still to finish: claimed ones (a lease may lapse and be claimed
    again), and pending ones already due (not those due later, such as a session's
    reminders in a database that has sessions ahead)."""
    return int(
        db.session.scalar(
            select(func.count(OutboxMessage.id)).where(
                (OutboxMessage.status == "sending")
                | ((OutboxMessage.status == "pending") & (OutboxMessage.due_at <= utcnow()))
            )
        )
        or 0
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--outbox", required=True, type=Path)
    parser.add_argument("--owner", required=True)
    parser.add_argument("--lease-seconds", type=int, default=120)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--stall-after", type=int)
    parser.add_argument("--stall-marker", type=Path)
    parser.add_argument("--ready", type=Path)
    parser.add_argument("--go", type=Path)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)

    app = create_app(
        {"TESTING": True, "SECRET_KEY": "worker", "SQLALCHEMY_DATABASE_URI": args.database_url},
        instance_path=tempfile.mkdtemp(prefix="dispatcher-"),
    )
    sender = "Teletherapy <no-reply@teletherapy.test>"
    mailer: FileMailer
    if args.stall_after is not None:
        mailer = StallingMailer(
            args.outbox, sender=sender, stall_after=args.stall_after, marker=args.stall_marker
        )
    else:
        mailer = FileMailer(args.outbox, sender=sender)
    with app.app_context():
        db.session.execute(select(1))  # connect before the start line
        db.session.rollback()
        if args.ready:
            args.ready.write_text("ready")
        while args.go and not args.go.exists():
            time.sleep(0.01)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            result = dispatch_due(
                mailer=mailer,
                now=utcnow(),
                limit=args.batch,
                owner=args.owner,
                lease_seconds=args.lease_seconds,
            )
            if result.claimed == 0:
                if unfinished() == 0:
                    return 0
                db.session.rollback()
                time.sleep(0.1)
    return 1  # timed out with work left


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
