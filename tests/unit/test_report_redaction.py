"""A failing test's report never carries a password (tests/support/redaction.py)."""

from __future__ import annotations

import asyncpg.connect_utils

from tests.support.redaction import redact


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


def test_urls_keep_their_user_and_host_but_not_the_password() -> None:
    text = redact("dsn = 'postgresql://amnesty_admin:Zq9%2Fx@127.0.0.1:54329/amnesty'")
    assert text == "dsn = 'postgresql://amnesty_admin:***@127.0.0.1:54329/amnesty'"


def test_keyword_and_mapping_forms_are_masked() -> None:
    text = redact('sasl_plain_password="abc", {"token": "t0k"}, secret = \'x\'')
    assert "abc" not in text
    assert "t0k" not in text
    assert "'x'" not in text


def test_text_without_credentials_is_unchanged() -> None:
    text = "assert 3 == 4\n +  where 3 = len([1, 2, 3]); url = 'http://127.0.0.1:8080/v1/stats'"
    assert redact(text) == text
