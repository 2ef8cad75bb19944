"""A failing test's report never carries a password (tests/support/redaction.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg.connect_utils
import pytest

from tests.support.redaction import redact

REPO = Path(__file__).resolve().parents[2]


def test_asyncpgs_connection_parameters_lose_their_password() -> None:
    params = asyncpg.connect_utils._ConnectionParameters(
        user="postgres",
        password="s3cr3t-Throwaway",
        database="amnesty",
        ssl=None,
        sslmode=None,
        ssl_negotiation=asyncpg.connect_utils.SSLNegotiation.postgres,
        server_settings=None,
        target_session_attrs=asyncpg.connect_utils.SessionAttribute.any,
        krbsrvname=None,
        gsslib=None,
    )
    text = redact(f"params = {params!r}")
    assert "s3cr3t-Throwaway" not in text
    assert "password='***'" in text
    assert "user='postgres'" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "dsn = 'postgresql://amnesty_admin:Zq9%2Fx@127.0.0.1:54329/amnesty'",
            "dsn = 'postgresql://amnesty_admin:***@127.0.0.1:54329/amnesty'",
        ),
        ("redis://:pw@host", "redis://:***@host"),
        ('sasl_plain_password="abc"', 'sasl_plain_password="***"'),
        ('{"token": "t0k"}', '{"token": "***"}'),
        ("secret = 'x'", "secret = '***'"),
        ('password="it\'s"', 'password="***"'),
        ("password=b'raw'", "password=b'***'"),
        ("host=db password=hunter2 user=me", "host=db password=*** user=me"),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
    ],
)
def test_credentials_in_their_usual_shapes_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "assert 3 == 4\n +  where 3 = len([1, 2, 3])",
        "url = 'http://127.0.0.1:8080/v1/users?email=a@b.org'",
        "git+https://github.com:443/org/repo.git@v1.2",
        "max_tokens: \"12\", tokenizer='gpt'",
        "password: must be at least 12 characters",
    ],
)
def test_text_without_credentials_is_unchanged(text: str) -> None:
    assert redact(text) == text


def test_a_failing_tests_report_shows_no_password_and_keeps_its_crash_line(tmp_path: Path) -> None:
    (tmp_path / "test_leaks.py").write_text(
        "def connect(dsn, password):\n"
        "    print('connecting with password=hunter2')\n"
        "    assert dsn == 'nowhere', 'could not connect'\n"
        "\n"
        "def test_connects():\n"
        "    connect('postgresql://u:HUNTER3pw@127.0.0.1/db', password='HUNTER4pw')\n"
    )
    command = [sys.executable, "-m", "pytest", "-p", "tests.support.redaction", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*command, "-l", "-rA", "--rootdir", str(tmp_path), str(tmp_path / "test_leaks.py")],
        cwd=REPO,
        env=os.environ | {"COLUMNS": "400"},  # noqa: TID251 - wide enough for the summary's message
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "HUNTER" not in done.stdout
    assert "hunter2" not in done.stdout
    assert "dsn = 'postgresql://u:***@127.0.0.1/db'" in done.stdout
    # The short summary still names the failure: the report kept its crash line.
    assert "test_leaks.py::test_connects - AssertionError: could not" in done.stdout
