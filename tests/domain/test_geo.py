"""Tests for great-circle distances and bounding boxes."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teletherapy.domain.geo import BoundingBox, LatLon, bounding_box, distance_km

# ZIP centroids as the `zipcodes` package gives them (tests/gateways checks they still do).
HARLEM_10027 = (40.8129, -73.9532)
CHELSEA_10001 = (40.7508, -73.9961)
JERSEY_CITY_07302 = (40.7201, -74.0431)


@pytest.mark.parametrize(
    ("a", "b", "expected_km", "tolerance_km"),
    [
        (HARLEM_10027, HARLEM_10027, 0.0, 1e-9),
        (HARLEM_10027, CHELSEA_10001, 7.793, 0.001),
        (HARLEM_10027, JERSEY_CITY_07302, 12.798, 0.001),
        ((0.0, 0.0), (0.0, 1.0), 111.195, 0.001),  # one degree along the equator
        ((40.7128, -74.0060), (34.0522, -118.2437), 3936, 2),  # New York to Los Angeles
        ((0.0, 0.0), (0.0, 180.0), math.pi * 6371.0088, 1e-6),  # antipodes
    ],
)
def test_distance_matches_known_values(
    a: LatLon, b: LatLon, expected_km: float, tolerance_km: float
) -> None:
    assert distance_km(a, b) == pytest.approx(expected_km, abs=tolerance_km)


def test_distance_is_symmetric() -> None:
    assert distance_km(HARLEM_10027, JERSEY_CITY_07302) == distance_km(
        JERSEY_CITY_07302, HARLEM_10027
    )


def test_box_around_harlem_spans_the_radius_in_each_direction() -> None:
    box = bounding_box(HARLEM_10027, 10)
    assert distance_km(HARLEM_10027, (box.max_lat, HARLEM_10027[1])) == pytest.approx(10)
    assert distance_km(HARLEM_10027, (box.min_lat, HARLEM_10027[1])) == pytest.approx(10)
    # Longitude is widest at a slightly higher latitude than the centre, so the box edge is
    # a little more than 10 km east along the centre's own parallel.
    east = distance_km(HARLEM_10027, (HARLEM_10027[0], box.max_lon))
    assert 10 <= east < 10.01
    assert box.contains(CHELSEA_10001)
    assert not box.contains(JERSEY_CITY_07302)


def test_box_touching_a_pole_covers_every_longitude() -> None:
    box = bounding_box((89.95, 10.0), 20)
    assert box == BoundingBox(min_lat=box.min_lat, max_lat=90.0, min_lon=-180.0, max_lon=180.0)


def test_box_crossing_the_antimeridian_covers_every_longitude() -> None:
    box = bounding_box((51.9, 179.9), 50)  # Aleutians
    assert (box.min_lon, box.max_lon) == (-180.0, 180.0)
    assert box.contains((51.9, -179.9))


def test_negative_radius_is_refused() -> None:
    with pytest.raises(ValueError):
        bounding_box(HARLEM_10027, -1)


def _destination(start: LatLon, bearing_deg: float, km: float) -> LatLon:
    lat1, lon1 = math.radians(start[0]), math.radians(start[1])
    bearing, angular = math.radians(bearing_deg), km / 6371.0088
    lat2 = math.asin(
        math.sin(lat1) * math.cos(angular) + math.cos(lat1) * math.sin(angular) * math.cos(bearing)
    )
    lon2 = lon1 + math.atan2(
        math.sin(bearing) * math.sin(angular) * math.cos(lat1),
        math.cos(angular) - math.sin(lat1) * math.sin(lat2),
    )
    lon2 = (lon2 + 3 * math.pi) % (2 * math.pi) - math.pi
    return (math.degrees(lat2), math.degrees(lon2))


@given(
    lat=st.floats(-80, 80),
    lon=st.floats(-179.9, 179.9),
    radius=st.floats(0.1, 500),
    bearing=st.floats(0, 360),
    share=st.floats(0, 0.999),
)
@settings(suppress_health_check=[HealthCheck.too_slow])  # slow draws on a loaded CI box
def test_every_point_within_the_radius_lies_inside_the_box(
    lat: float, lon: float, radius: float, bearing: float, share: float
) -> None:
    point = _destination((lat, lon), bearing, radius * share)
    assert distance_km((lat, lon), point) <= radius + 1e-6
    assert bounding_box((lat, lon), radius).contains(point)
