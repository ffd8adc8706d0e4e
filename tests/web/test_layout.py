"""The web package's shape: one package per URL prefix, no borrowing of private helpers."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from flask import Flask

from teletherapy import create_app

WEB = Path(__file__).resolve().parents[2] / "platform" / "teletherapy" / "web"


def _owner(module: str) -> str | None:
    """The feature package of a view module (teletherapy.web.<feature>.x), else None."""
    parts = module.split(".")
    if parts[:2] != ["teletherapy", "web"] or len(parts) < 4:
        return None
    return parts[2]


def _prefix(rule: str) -> str:
    """A page's first path segment; an API route counts by its resource (me/<x> too)."""
    parts = [p for p in rule.split("/") if p]
    if parts[:2] == ["api", "v1"] and len(parts) > 2:
        resource = parts[2]
        if resource == "me" and len(parts) > 3:
            resource = f"me/{parts[3]}"
        return f"/api/v1/{resource}"
    return "/" + (parts[0] if parts else "")


def prefixes_served_by_several_packages(app: Flask) -> dict[str, list[str]]:
    owners: dict[str, set[str]] = defaultdict(set)
    for rule in app.url_map.iter_rules():
        owner = _owner(app.view_functions[rule.endpoint].__module__)
        if owner is not None:
            owners[_prefix(rule.rule)].add(owner)
    return {prefix: sorted(found) for prefix, found in owners.items() if len(found) > 1}


def test_each_url_prefix_is_served_by_one_web_package(tmp_path: Path) -> None:
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"},
        instance_path=tmp_path,
    )
    assert prefixes_served_by_several_packages(app) == {}


def test_the_prefix_check_notices_a_prefix_shared_by_two_packages() -> None:
    app = Flask("probe")

    def one() -> str:
        return ""

    def two() -> str:
        return ""

    one.__module__ = "teletherapy.web.practice.pages"
    two.__module__ = "teletherapy.web.bookings.pages"
    app.add_url_rule("/practice/", view_func=one)
    app.add_url_rule("/practice/sessions", view_func=two)
    app.add_url_rule("/api/v1/me", endpoint="me", view_func=one)
    app.add_url_rule("/api/v1/me/availability", endpoint="mine", view_func=two)
    assert prefixes_served_by_several_packages(app) == {"/practice": ["bookings", "practice"]}


def _private_imports_across_packages(path: Path) -> list[str]:
    own = path.relative_to(WEB).parts[0] if len(path.relative_to(WEB).parts) > 1 else None
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        parts = node.module.split(".")
        if parts[:2] != ["teletherapy", "web"] or len(parts) < 3 or parts[2] == own:
            continue
        found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    return found


def test_no_web_module_imports_another_packages_private_helpers() -> None:
    offenders = {
        str(path.relative_to(WEB)): names
        for path in sorted(WEB.rglob("*.py"))
        if (names := _private_imports_across_packages(path))
    }
    assert offenders == {}
