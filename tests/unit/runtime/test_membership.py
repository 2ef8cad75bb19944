"""A service instance's membership in its consumer groups, as its settings say."""

from __future__ import annotations

import socket

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from amnesty_eventstore.kafka_batches import Membership
from amnesty_runtime.settings import ServiceSettings


class _Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AMNESTY_SOMESERVICE_", extra="ignore")

    http_port: int = 8100


def test_without_an_instance_id_an_instance_is_a_dynamic_member(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMNESTY_SOMESERVICE_INSTANCE_ID", raising=False)
    assert _Settings().membership == Membership(None, 30_000)


def test_an_instance_id_and_session_timeout_from_the_environment_make_a_static_member(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMNESTY_SOMESERVICE_INSTANCE_ID", "someservice-2")
    monkeypatch.setenv("AMNESTY_SOMESERVICE_SESSION_TIMEOUT_S", "45")
    assert _Settings().membership == Membership("someservice-2", 45_000)


def test_hostname_in_an_instance_id_is_the_host_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMNESTY_SOMESERVICE_INSTANCE_ID", "someservice-{hostname}")
    assert _Settings().instance_id == f"someservice-{socket.gethostname()}"


@pytest.mark.parametrize("seconds", ["5", "1801"])
def test_a_session_timeout_outside_the_brokers_bounds_is_refused(
    monkeypatch: pytest.MonkeyPatch, seconds: str
) -> None:
    monkeypatch.setenv("AMNESTY_SOMESERVICE_SESSION_TIMEOUT_S", seconds)
    with pytest.raises(ValidationError, match="session_timeout_s"):
        _Settings()
