"""The password rule: long enough, not a common password, not the person's email or name."""

from __future__ import annotations

import re
from collections.abc import Container

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
# Parts of an email or a name shorter than this are too common to forbid ("al", "li").
MIN_PERSONAL_PART = 3

# Literal texts (not f-strings) so the catalogs can hold them (babel.cfg: dicts = MESSAGES).
MESSAGES = {
    "rule": "Use at least 12 characters. A few unrelated words work well. "
    "Common passwords and passwords containing your email or name are refused.",
    "short": "Use at least 12 characters.",
    "long": "Use at most 200 characters.",
    "common": "This is a common password; choose something less guessable.",
    "personal": "Do not use your email address or your name in the password.",
}
RULE = MESSAGES["rule"]


def _core(text: str) -> str:
    """Letters only, lower-cased: "Password-123!" and "password" are the same guess."""
    return re.sub(r"[^a-z]", "", text.lower())


def password_problems(
    password: str, *, email: str = "", name: str = "", common: Container[str] = ()
) -> list[str]:
    """Why `password` is refused (empty when it is accepted)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [MESSAGES["short"]]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [MESSAGES["long"]]
    lowered = password.lower()
    core = _core(password)
    problems: list[str] = []
    stripped = lowered.strip("0123456789!@#$%^&*()-_=+.,?~ ")
    if lowered in common or stripped in common or (len(core) >= 4 and core in common):
        problems.append(MESSAGES["common"])
    local = email.lower().partition("@")[0]  # the domain is shared by many people
    personal = {local, *re.split(r"[.+_\-\s]+", local)}
    personal |= {part.lower() for part in re.split(r"\s+", name)}
    if any(len(part) >= MIN_PERSONAL_PART and part in lowered for part in personal if part):
        problems.append(MESSAGES["personal"])
    return problems
