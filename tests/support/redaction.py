"""Credentials kept out of test reports: a failing test's traceback lands in CI logs.

pytest's long tracebacks print each frame's arguments, among them asyncpg's ``ConnectionParameters``
(with the password) and database URLs (with theirs). The stacks under test use throwaway passwords, but
a log is no place for any password, and the same habit protects a run against real infrastructure
(``DATABASE_URL``).
"""

from __future__ import annotations

import re
from typing import Final

REDACTED: Final = "***"

_PATTERNS: Final = (
    # password='…' as a repr or keyword argument shows it, "password": "…" as a mapping; also secret,
    # token, sasl_plain_password, …
    re.compile(
        r"""(?P<head>\b\w*(?:password|secret|token)\w*['"]?\s*[=:]\s*)(?P<q>['"])(?P<value>[^'"]*)(?P=q)""",
        re.I,
    ),
    # scheme://user:password@host
    re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/\s@'\"]+:)(?P<value>[^@\s'\"]+)(?=@)", re.I),
)


def redact(text: str) -> str:
    """``text`` with the values of password-like fields and URL passwords replaced by ***."""
    for pattern in _PATTERNS:
        text = pattern.sub(_masked, text)
    return text


def _masked(match: re.Match[str]) -> str:
    quote = match.groupdict().get("q") or ""
    return f"{match['head']}{quote}{REDACTED}{quote}"
