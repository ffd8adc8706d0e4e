"""Command-line commands: seed-demo, create-user, scheduler."""

from __future__ import annotations

import contextlib

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from teletherapy.domain.errors import DomainError
from teletherapy.domain.vocabularies import Role


def register_commands(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(scheduler_command)


@click.command("seed-demo")
@with_appcontext
@click.option("--therapists", default=60, show_default=True, type=click.IntRange(min=0))
@click.option("--clients", default=30, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has users.")
def seed_demo_command(therapists: int, clients: int, seed: int, if_empty: bool) -> None:
    """Deterministic demo data (refused when ENV=production)."""
    from teletherapy.demo.seed import database_is_empty, seed_demo

    if current_app.config["ENV"] == "production":
        raise click.ClickException("seed-demo is refused when ENV=production.")
    if if_empty and not database_is_empty():
        click.echo("Demo data already present; not seeding.")
        return
    with click.progressbar(length=therapists + clients, label="Seeding demo data") as bar:
        counts = seed_demo(therapists=therapists, clients=clients, seed=seed, progress=bar.update)
    click.echo(f"Seeded {counts['therapists']} therapists and {counts['clients']} clients.")


@click.command("create-user")
@with_appcontext
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--name", "display_name", default="")
@click.option("--time-zone", default="America/New_York", show_default=True)
def create_user_command(
    role: str, email: str, password: str, display_name: str, time_zone: str
) -> None:
    """Create an active account of any role."""
    from teletherapy.services.accounts.users import create_user

    try:
        user = create_user(
            email=email,
            password=password,
            role=role,
            display_name=display_name,
            time_zone=time_zone,
        )
    except DomainError as exc:
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
        raise click.ClickException(f"{exc.detail} {details}".strip()) from None
    click.echo(f"Created {role} {user.email} (id {user.id}).")


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the dispatcher in this process (one per deployment is enough; more are safe)."""
    from teletherapy.jobs.scheduler import build_scheduler

    scheduler = build_scheduler(current_app._get_current_object(), blocking=True)  # type: ignore[attr-defined]
    click.echo("Dispatcher running; Ctrl-C to stop.")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
