"""Video rooms for online sessions: unguessable room names on a Jitsi Meet base URL."""

from __future__ import annotations

import secrets
from typing import Protocol
from urllib.parse import quote, urlsplit

ROOM_PREFIX = "tt-"


class VideoProvider(Protocol):
    """Creates room names and turns a room into the URL a participant opens."""

    def new_room(self) -> str: ...

    def join_url(self, room: str) -> str: ...


class VideoRooms:
    """Rooms on a Jitsi Meet server (meet.jit.si or self-hosted).

    Jitsi creates a room when the first person opens its URL, so a room is just a
    name. The name is the only secret: 16 random bytes (128 bits) make it
    unguessable, and it carries no names, dates or anything clinical.
    """

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(f"VIDEO_BASE_URL must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")

    def new_room(self) -> str:
        return ROOM_PREFIX + secrets.token_urlsafe(16)

    def join_url(self, room: str) -> str:
        if not room:
            raise ValueError("empty room name")
        return f"{self.base_url}/{quote(room, safe='')}"


def video_rooms_from_config(base_url: str | None) -> VideoProvider:
    """The video gateway for `VIDEO_BASE_URL` (default: the public Jitsi Meet)."""
    return VideoRooms(base_url or "https://meet.jit.si")
