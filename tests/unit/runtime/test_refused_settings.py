"""A service whose environment holds a refused setting says which, in a line, and exits 2: no traceback,
and never the value, which may be a key or a token."""

from __future__ import annotations

import pytest
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from amnesty_runtime.settings import Port, ServiceSettings, settings_or_exit


class _Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AMNESTY_SOMESERVICE_", extra="ignore")

    http_port: Port = 8100
    signing_secret: SecretStr = Field(default=SecretStr("x" * 32), min_length=32)


def test_a_refused_setting_is_named_by_its_variable_and_the_service_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AMNESTY_SOMESERVICE_BATCH_WAIT_MS", "999")
    with pytest.raises(SystemExit) as exited:
        settings_or_exit(_Settings)
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "Error: invalid setting batch_wait_ms (AMNESTY_SOMESERVICE_BATCH_WAIT_MS) of _Settings: "
        "Input should be less than or equal to 500"
    ]


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("AMNESTY_SOMESERVICE_SIGNING_SECRET", "too-short-but-secret", "signing_secret"),
        ("AMNESTY_PG_PORT", "not-a-port-0451", "pg_port"),  # the infrastructure's, read with the service's
    ],
)
def test_the_refused_value_is_never_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit):
        settings_or_exit(_Settings)
    err = capsys.readouterr().err
    assert f"invalid setting {named} ({variable})" in err
    assert value not in err


def test_settings_that_are_fine_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMNESTY_SOMESERVICE_BATCH_WAIT_MS", "20")
    assert settings_or_exit(_Settings).batch_wait_ms == 20


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("AMNESTY_SOMESERVICE_LOG_LEVEL", "chatty", "log_level"),
        ("AMNESTY_SOMESERVICE_HTTP_PORT", "99999", "http_port"),
        ("AMNESTY_PG_PORT", "0", "pg_port"),
    ],
)
def test_a_level_or_port_that_cannot_work_is_refused_when_read(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str, named: str
) -> None:
    """Accepted, they failed later: an unknown level with a traceback when logging was set up, a port
    at its bind, after the service had migrated and joined its consumer group."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exited:
        settings_or_exit(_Settings)
    assert exited.value.code == 2
    assert f"invalid setting {named} ({variable})" in capsys.readouterr().err


def test_a_level_is_taken_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMNESTY_SOMESERVICE_LOG_LEVEL", "debug")
    assert settings_or_exit(_Settings).log_level == "DEBUG"


def test_a_misspelled_variable_of_the_service_is_named_on_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """pydantic-settings ignores what matches no setting: a typo in a variable's name went unnoticed."""
    from amnesty_intake.settings import IntakeSettings

    monkeypatch.setenv("AMNESTY_PSEUDONYM_KEY", "k" * 32)
    monkeypatch.setenv("AMNESTY_INTAKE_HTTP_PROT", "9999")
    monkeypatch.setenv("AMNESTY_INTAKE_URL", "http://127.0.0.1:8001")  # the address tools use
    monkeypatch.setenv("AMNESTY_INTAKE_DATABASE_URL", "postgresql://x")  # the infrastructure's setting
    settings_or_exit(IntakeSettings)
    assert capsys.readouterr().err.splitlines() == [
        "Warning: AMNESTY_INTAKE_HTTP_PROT is no setting of IntakeSettings; ignored"
    ]


def test_a_setting_read_from_a_variable_of_its_own_name_is_named_by_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from amnesty_intake.settings import IntakeSettings

    monkeypatch.setenv("AMNESTY_PROFILE", "prod")
    with pytest.raises(SystemExit):
        settings_or_exit(IntakeSettings)
    assert "invalid setting AMNESTY_PROFILE of IntakeSettings: " in capsys.readouterr().err
