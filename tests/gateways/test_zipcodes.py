"""Tests for the offline ZIP code gateway."""

from __future__ import annotations

import pytest

from teletherapy.gateways.zipcodes import ZipLocation, find_zip


@pytest.mark.parametrize(
    ("zip_code", "expected"),
    [
        ("10027", ZipLocation("10027", 40.8129, -73.9532, "NY")),
        ("10001", ZipLocation("10001", 40.7508, -73.9961, "NY")),
        ("10463", ZipLocation("10463", 40.8793, -73.9103, "NY")),
        ("07302", ZipLocation("07302", 40.7201, -74.0431, "NJ")),
        ("10027-1234", ZipLocation("10027", 40.8129, -73.9532, "NY")),
        (" 10027 ", ZipLocation("10027", 40.8129, -73.9532, "NY")),
    ],
)
def test_known_zip_gives_its_centroid_and_state(zip_code: str, expected: ZipLocation) -> None:
    assert find_zip(zip_code) == expected


@pytest.mark.parametrize("zip_code", ["00000", "99999", "1002", "123456", "abcde", "", "10027-"])
def test_unknown_or_malformed_zip_gives_none(zip_code: str) -> None:
    assert find_zip(zip_code) is None


def test_the_point_is_lat_then_lon() -> None:
    location = find_zip("07302")
    assert location is not None
    assert location.point == (40.7201, -74.0431)


def test_every_zip_of_the_package_gives_what_its_own_search_gives() -> None:
    """The table built once agrees with `zipcodes.matching` (which scans every row on each
    call) for a sample of 300 ZIPs across the country."""
    import random

    import zipcodes

    rows = zipcodes.list_all()
    for row in random.Random(14).sample(rows, 300):
        found = [r for r in zipcodes.matching(row["zip_code"]) if r.get("lat") and r.get("long")]
        first = found[0] if found else None
        expected = (
            ZipLocation(row["zip_code"], float(first["lat"]), float(first["long"]), first["state"])
            if first
            else None
        )
        assert find_zip(row["zip_code"]) == expected
