"""Teletherapy: affordable, culturally matched therapy, scheduled correctly."""

from teletherapy.app import create_app

__all__ = ["create_app"]
