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


def _lookup(zip5: str) -> ZipLocation | None:
    return _table().get(zip5)


@functools.cache
def _table() -> dict[str, ZipLocation]:
    """Every ZIP with a centroid, by ZIP: built once a process (0.2-0.27 s here, 42,735
    rows; a worker builds it when it starts, app.warm_up). The package's own `matching`
    scans its whole table on each call: 6-8 ms for every ZIP a process had not seen."""
    table: dict[str, ZipLocation] = {}
    for row in zipcodes.list_all():
        zip5 = row["zip_code"]
        if zip5 not in table and row.get("lat") and row.get("long"):
            table[zip5] = ZipLocation(
                zip=zip5, lat=float(row["lat"]), lon=float(row["long"]), state=row["state"]
            )
    return table
