"""Reading `java -version` across vendors and eras."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from amnesty_runtime.stack.java import java_major


@pytest.mark.parametrize(
    ("banner", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "25.0.2" 2026-01-20 LTS', 25),
        ('java version "1.8.0_401"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ("no version here", None),
    ],
)
def test_java_major_reads_the_banner(tmp_path: Path, banner: str, major: int | None) -> None:
    fake = tmp_path / "java"
    fake.write_text(f"#!/bin/sh\necho '{banner}' >&2\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    assert java_major(fake) == major


def test_a_missing_executable_has_no_version(tmp_path: Path) -> None:
    assert java_major(tmp_path / "absent") is None
