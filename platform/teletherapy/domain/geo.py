"""Great-circle distances and bounding boxes for (lat, lon) points in degrees."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeAlias

# Mean Earth radius (IUGG); the error against the ellipsoid is under 0.5 %, far below the
# imprecision of a ZIP code's single centroid.
EARTH_RADIUS_KM = 6371.0088

LatLon: TypeAlias = tuple[float, float]


# Remembered: a search asks it 2-3 times per therapist in place (filters, score,
# relaxations), and therapists share offices' ZIP centroids (a third as many points as
# therapists in a 100,000 seed): 2.5 us a call, a remembered one ~0.2 us.
@lru_cache(maxsize=16384)
def distance_km(a: LatLon, b: LatLon) -> float:
    """Haversine distance in kilometres between two (lat, lon) points in degrees."""
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    # min() guards against h drifting a hair above 1 for antipodal points.
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """Degrees; a conservative rectangle for `lat BETWEEN ... AND lon BETWEEN ...` prefilters."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, point: LatLon) -> bool:
        lat, lon = point
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


def bounding_box(center: LatLon, radius_km: float) -> BoundingBox:
    """The smallest lat/lon rectangle holding every point within `radius_km` of `center`.

    Uses the exact longitude spread at the circle's widest latitude (Matuschek's method), so
    the box never cuts the circle off. Near a pole, or when the circle crosses the
    antimeridian, longitude is not restricted at all: a wider prefilter is still correct, and
    it keeps the SQL a single BETWEEN per column.
    """
    if radius_km < 0:
        raise ValueError("radius_km must not be negative")
    lat, lon = math.radians(center[0]), math.radians(center[1])
    angular = radius_km / EARTH_RADIUS_KM
    min_lat, max_lat = lat - angular, lat + angular
    if min_lat <= -math.pi / 2 or max_lat >= math.pi / 2:
        return BoundingBox(
            min_lat=math.degrees(max(min_lat, -math.pi / 2)),
            max_lat=math.degrees(min(max_lat, math.pi / 2)),
            min_lon=-180.0,
            max_lon=180.0,
        )
    delta_lon = math.asin(min(1.0, math.sin(angular) / math.cos(lat)))
    min_lon, max_lon = lon - delta_lon, lon + delta_lon
    if min_lon < -math.pi or max_lon > math.pi:
        min_lon, max_lon = -math.pi, math.pi
    return BoundingBox(
        min_lat=math.degrees(min_lat),
        max_lat=math.degrees(max_lat),
        min_lon=math.degrees(min_lon),
        max_lon=math.degrees(max_lon),
    )
