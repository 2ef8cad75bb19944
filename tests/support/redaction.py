"""Credentials kept out of test reports: a failing test's report lands in CI logs.

pytest's long tracebacks print each frame's arguments, among them asyncpg's ``ConnectionParameters``
(with the password) and database URLs (with theirs), and a report carries the test's captured output
and log. The stacks under test use throwaway passwords, but a log is no place for any password, and
the same habit protects a run against real infrastructure (``DATABASE_URL``).

Also a pytest plugin (``-p tests.support.redaction``; the suite's conftest imports the hook): a failed
report is redacted in place, its traceback, crash line and captured sections alike.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Generator
from typing import Any, Final

import pytest

REDACTED: Final = "***"

# A field whose name ends in one of these words (sasl_plain_password, api_token; not max_tokens).
_NAME: Final = r"\b[\w.-]*?(?:password|passwd|secret|token)\b"

_PATTERNS: Final = (
    # password='…' / "password": "…" / password=b'…' as reprs, keyword arguments and mappings show them.
    re.compile(rf"""(?P<head>{_NAME}['"]?\s*[=:]\s*b?)(?P<q>['"])(?:\\.|(?!(?P=q)).)*(?P=q)""", re.I),
    # password=hunter2 unquoted (libpq connection strings).
    re.compile(rf"""(?P<head>{_NAME}\s*=\s*)(?![\s*]|b?['"])[^\s'",)&;]+""", re.I),
    # scheme://user:password@host (an empty user too: redis://:pw@host); not a port or a path.
    re.compile(r"""(?P<head>\b[a-z][a-z0-9+.-]*://[^:/\s@'"]*:)[^@\s'"/?#]+(?=@)""", re.I),
    # Authorization: Bearer …
    re.compile(r"(?P<head>\bBearer\s+)[\w.~+/=-]+"),
)


def redact(text: str) -> str:
    """``text`` with the values of password-like fields, URL passwords and bearer tokens replaced by ***."""
    for pattern in _PATTERNS:
        text = pattern.sub(_masked, text)
    return text


def _masked(match: re.Match[str]) -> str:
    quote = match.groupdict().get("q") or ""
    return f"{match['head']}{quote}{REDACTED}{quote}"


def redact_in_place(value: Any) -> Any:
    """``value`` with every string in it redacted: pytest's report objects (dataclasses, lists, tuples)
    are changed in place, so the report keeps its structure (the short summary keeps its crash line)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        value[:] = [redact_in_place(item) for item in value]
        return value
    if isinstance(value, tuple) and len(value) == 2 and _is_secret_name(value[0]):
        return (value[0], REDACTED)  # a frame's argument as pytest lists it: (name, repr of the value)
    if isinstance(value, tuple):
        return (
            type(value)(*map(redact_in_place, value))
            if hasattr(value, "_fields")
            else tuple(redact_in_place(item) for item in value)
        )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            object.__setattr__(value, f.name, redact_in_place(getattr(value, f.name)))
    return value


def _is_secret_name(name: object) -> bool:
    return isinstance(name, str) and re.fullmatch(_NAME, name, re.I) is not None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """A failed report without passwords: its traceback, crash line and captured output and log."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        report.longrepr = redact_in_place(report.longrepr)
        report.sections = [(title, redact(content)) for title, content in report.sections]
