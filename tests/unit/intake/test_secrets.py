"""Production refuses to start without its secrets; demo and test make and keep local ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from amnesty_intake.adapters.secrets import MissingSecretError, pseudonym_key, source_tokens
from amnesty_intake.settings import IntakeSettings, Profile


def _settings(**values: object) -> IntakeSettings:
    return IntakeSettings.model_validate({"profile": Profile.PRODUCTION} | values)


def test_production_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(MissingSecretError, match="refuses to start without a pseudonym key"):
        pseudonym_key(_settings(), tmp_path)
    with pytest.raises(MissingSecretError, match="API tokens"):
        source_tokens(_settings(), tmp_path)


def test_an_empty_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("\n")
    with pytest.raises(MissingSecretError, match="missing or empty"):
        pseudonym_key(_settings(pseudonym_key_file=tmp_path / "key"), tmp_path)


def test_a_short_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MissingSecretError, match="at least 32 bytes"):
        pseudonym_key(_settings(pseudonym_key=SecretStr("short")), tmp_path)


def test_a_key_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("f" * 40 + "\n")
    assert pseudonym_key(_settings(pseudonym_key_file=tmp_path / "key"), tmp_path) == b"f" * 40


@pytest.mark.parametrize("profile", [Profile.DEMO, Profile.TEST])
def test_demo_and_test_generate_a_key_once_and_keep_it(tmp_path: Path, profile: Profile) -> None:
    first = pseudonym_key(_settings(profile=profile), tmp_path)
    assert len(first) >= 32
    assert pseudonym_key(_settings(profile=profile), tmp_path) == first
    assert (tmp_path / "secrets" / "pseudonym.key").stat().st_mode & 0o777 == 0o600


def test_each_source_token_names_its_source_and_the_operator_token_any(tmp_path: Path) -> None:
    (tmp_path / "tokens.json").write_text(json.dumps({"erdr": "e" * 20, "court-registry": "c" * 20}))
    tokens = source_tokens(
        _settings(source_tokens_file=tmp_path / "tokens.json", api_token=SecretStr("o" * 20)), tmp_path
    )
    courts, operator = tokens.sender("c" * 20), tokens.sender("o" * 20)
    assert courts is not None
    assert operator is not None
    assert courts.may_submit_as("court-registry")
    assert not courts.may_submit_as("erdr")
    assert operator.may_submit_as("erdr")
    assert operator.may_submit_as("court-registry")
    assert tokens.sender("x" * 20) is None
    assert tokens.sender("c" * 19) is None


@pytest.mark.parametrize("content", ["[]", "{}", '{"erdr": 5}', '{"erdr": "short"}', "not json"])
def test_a_malformed_source_token_file_is_refused(tmp_path: Path, content: str) -> None:
    (tmp_path / "tokens.json").write_text(content)
    with pytest.raises(MissingSecretError, match="SOURCE_TOKENS_FILE"):
        source_tokens(_settings(source_tokens_file=tmp_path / "tokens.json"), tmp_path)


def test_two_sources_sharing_a_token_are_refused(tmp_path: Path) -> None:
    (tmp_path / "tokens.json").write_text(json.dumps({"erdr": "s" * 20, "army-plus": "s" * 20}))
    with pytest.raises(MissingSecretError, match="share a token"):
        source_tokens(_settings(source_tokens_file=tmp_path / "tokens.json"), tmp_path)


@pytest.mark.parametrize("profile", [Profile.DEMO, Profile.TEST])
def test_demo_and_test_generate_one_token_per_source_owner_only(tmp_path: Path, profile: Profile) -> None:
    tokens = source_tokens(_settings(profile=profile, upstream_sources=["erdr", "army-plus"]), tmp_path)
    written = json.loads((tmp_path / "secrets" / "intake-source-tokens.json").read_text())
    assert set(written) == {"erdr", "army-plus"}
    erdr = tokens.sender(written["erdr"])
    assert erdr is not None
    assert erdr.source == "erdr"
    assert (tmp_path / "secrets" / "intake-source-tokens.json").stat().st_mode & 0o777 == 0o600
