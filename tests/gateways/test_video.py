"""Video rooms: unguessable names, join URLs on the configured base, bad config refused."""

from __future__ import annotations

import pytest

from teletherapy.gateways.video import VideoRooms, video_rooms_from_config


def test_room_names_are_long_random_and_distinct() -> None:
    rooms = VideoRooms("https://meet.jit.si")
    names = {rooms.new_room() for _ in range(200)}
    assert len(names) == 200
    # "tt-" + 16 random bytes in URL-safe base64 (22 characters): 128 bits.
    assert all(name.startswith("tt-") and len(name) == 25 for name in names)


def test_join_url_is_on_the_configured_base() -> None:
    rooms = VideoRooms("https://video.example.org/rooms/")
    assert rooms.join_url("tt-abc_DEF-1") == "https://video.example.org/rooms/tt-abc_DEF-1"
    assert rooms.join_url("a/b?c") == "https://video.example.org/rooms/a%2Fb%3Fc"


def test_default_is_the_public_jitsi_meet() -> None:
    assert video_rooms_from_config(None).join_url("tt-x") == "https://meet.jit.si/tt-x"


@pytest.mark.parametrize("base", ["meet.jit.si", "ftp://meet.example.org", "https://"])
def test_a_base_url_that_is_not_http_is_refused(base: str) -> None:
    with pytest.raises(ValueError):
        VideoRooms(base)


def test_an_empty_room_has_no_url() -> None:
    with pytest.raises(ValueError):
        VideoRooms("https://meet.jit.si").join_url("")
