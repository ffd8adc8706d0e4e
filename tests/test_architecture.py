"""The layering rules hold: domain is pure, platform/ never shadows the stdlib."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "platform" / "teletherapy"
STDLIB = set(sys.stdlib_module_names)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                names.add(node.module)
            elif node.level == 1:
                names.add("teletherapy.domain." + (node.module or ""))
            else:
                names.add("<outside domain>." + (node.module or ""))
    return names


def test_domain_imports_only_stdlib_and_itself() -> None:
    offenders = []
    for path in sorted((PACKAGE / "domain").glob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in STDLIB or name.startswith("teletherapy.domain"):
                continue
            offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_views_never_touch_the_session_or_commit() -> None:
    offenders = []
    for path in sorted((PACKAGE / "web").rglob("*.py")):
        text = path.read_text()
        if "db.session" in text or ".commit()" in text:
            offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_platform_folder_has_no_init_so_stdlib_platform_still_imports() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()
    result = subprocess.run(
        [sys.executable, "-c", "import platform; print(platform.system())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip()


def test_no_module_is_named_after_a_stdlib_module() -> None:
    clashes = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.stem in {"calendar", "email", "platform", "secrets", "types"}
    ]
    assert clashes == []


MAX_MODULE_LINES = 500


def test_no_module_is_longer_than_500_lines() -> None:
    """A longer module has more than one reason to change (migrations excepted)."""
    migrations = PACKAGE / "migrations"
    long_modules = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if migrations not in path.parents
        and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long_modules == {}
