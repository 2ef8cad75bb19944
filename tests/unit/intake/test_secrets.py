"""Production refuses to start without its secrets; demo and test make and keep local ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from amnesty_intake.adapters.secrets import MissingSecretError, api_token, pseudonym_key
from amnesty_intake.settings import IntakeSettings, Profile


def _settings(**values: object) -> IntakeSettings:
    return IntakeSettings.model_validate({"profile": Profile.PRODUCTION} | values)


def test_production_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(MissingSecretError, match="refuses to start without a pseudonym key"):
        pseudonym_key(_settings(), tmp_path)
    with pytest.raises(MissingSecretError, match="API token"):
        api_token(_settings(), tmp_path)


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
