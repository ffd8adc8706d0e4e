"""US ZIP code -> (lat, lon, state), from the offline `zipcodes` package (no network)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import zipcodes

_ZIP_RE = re.compile(r"(\d{5})(?:-\d{4})?")


@dataclass(frozen=True, slots=True)
class ZipLocation:
    zip: str
    lat: float
    lon: float
    state: str

    @property
    def point(self) -> tuple[float, float]:
        return (self.lat, self.lon)


def find_zip(zip_code: str) -> ZipLocation | None:
    """The centroid and USPS state of a ZIP (ZIP+4 accepted); None if unknown or malformed."""
    match = _ZIP_RE.fullmatch(zip_code.strip()) if isinstance(zip_code, str) else None
    if match is None:
        return None
    return _lookup(match.group(1))


@functools.lru_cache(maxsize=8192)
def _lookup(zip5: str) -> ZipLocation | None:
    # The package scans its whole table on each call (~40k rows), hence the cache.
    for row in zipcodes.matching(zip5):
        if row.get("lat") and row.get("long"):
            return ZipLocation(
                zip=zip5, lat=float(row["lat"]), lon=float(row["long"]), state=row["state"]
            )
    return None
