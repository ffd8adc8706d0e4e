"""WSGI entry point: the app with the repository's own instance/ folder."""

from pathlib import Path

from teletherapy import create_app

app = create_app(instance_path=Path(__file__).resolve().parent / "instance")
