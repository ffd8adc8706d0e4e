"""Architecture checks for issue 9: the lifecycle alone writes booking rows and statuses.

Parsed, not imported: every module under platform/ (migrations aside).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.groups import SeatStatus
from teletherapy.domain.payments import LedgerStatus

PACKAGE = Path(__file__).resolve().parents[3] / "platform" / "teletherapy"
LIFECYCLE = PACKAGE / "services" / "bookings" / "lifecycle.py"
BOOKING_STATUS_WORDS = {s.value for s in BookingStatus}


def modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.parts]


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def _mentions_booking_status(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id == "BookingStatus":
            return True
        if isinstance(sub, ast.Constant) and sub.value in BOOKING_STATUS_WORDS:
            return True
    return False


def booking_writes(path: Path) -> list[str]:
    """`Booking(...)`, `update(Booking)`, and status assignments that look like a booking's."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func).split(".")[-1] == "Booking":
            found.append(f"{path.name}:{node.lineno} Booking(...)")
        if (
            isinstance(node, ast.Call)
            and _name(node.func).split(".")[-1] == "update"
            and any(_name(a).split(".")[-1] == "Booking" for a in node.args)
        ):
            found.append(f"{path.name}:{node.lineno} update(Booking)")
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not (isinstance(target, ast.Attribute) and target.attr == "status"):
                    continue
                owner = _name(target.value).lower()
                if "booking" in owner or (
                    node.value is not None and _mentions_booking_status(node.value)
                ):
                    found.append(f"{path.name}:{node.lineno} {_name(target)} = ...")
    return found


def test_only_the_lifecycle_constructs_bookings_or_assigns_their_status() -> None:
    offenders = [w for p in modules() if p != LIFECYCLE for w in booking_writes(p)]
    assert offenders == []


def test_the_check_sees_the_lifecycles_own_writes() -> None:
    writes = booking_writes(LIFECYCLE)
    assert any("Booking(...)" in w for w in writes)
    assert any("status = ..." in w for w in writes)
    assert any("update(Booking)" in w for w in writes)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("feature", ["bookings"])
def test_bookings_never_imports_payments_which_depends_on_it(feature: str) -> None:
    folder = PACKAGE / "services" / feature
    imports = {m for p in folder.rglob("*.py") for m in imported_modules(p)}
    assert not {m for m in imports if m.startswith("teletherapy.services.payments")}


STATUS_WORDS = (
    BOOKING_STATUS_WORDS | {s.value for s in LedgerStatus} | {s.value for s in SeatStatus}
)


def status_literals(path: Path) -> list[str]:
    """String constants compared with (or listed against) something named `status`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if not any("status" in _name(side).lower() for side in sides):
            continue
        for side in sides:
            for sub in ast.walk(side):
                if isinstance(sub, ast.Constant) and sub.value in STATUS_WORDS:
                    found.append(f"{path.name}:{node.lineno} {sub.value!r}")
    return found


def test_services_name_statuses_by_their_enums() -> None:
    services = PACKAGE / "services"
    assert [hit for p in sorted(services.rglob("*.py")) for hit in status_literals(p)] == []


def test_templates_ask_the_domain_instead_of_comparing_status_strings() -> None:
    pattern = re.compile(r"status\s*(==|!=|\bin\b|\bnot in\b)\s*\(?\s*['\"]")
    hits = [
        f"{p.name}:{n}"
        for p in sorted((PACKAGE / "templates").rglob("*.html"))
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []
