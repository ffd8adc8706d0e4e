"""Fee bands (interim: until the bands table lands, the platform-wide defaults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeeBandView:
    code: str
    label: str
    min_cents: int
    max_cents: int


def list_fee_bands() -> list[FeeBandView]:
    return []
