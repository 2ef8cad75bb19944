"""How a service's consumers fetch their batches, as its settings say."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from amnesty_eventstore.kafka_batches import Fetching
from amnesty_runtime.settings import ServiceSettings
from amnesty_statistics.settings import StatisticsSettings


class _Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AMNESTY_SOMESERVICE_", extra="ignore")

    http_port: int = 8100


def test_by_default_the_broker_may_hold_a_fetch_50_ms_for_about_a_hundred_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AMNESTY_SOMESERVICE_BATCH_WAIT_MS", raising=False)
    fetching = _Settings().fetching
    assert (fetching.fetch_max_wait_ms, fetching.fetch_min_bytes) == (50, 64 * 1024)


def test_a_wait_of_zero_answers_at_the_first_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMNESTY_SOMESERVICE_BATCH_WAIT_MS", "0")
    fetching = _Settings().fetching
    assert fetching == Fetching(0)
    assert fetching.fetch_min_bytes == 1  # an idle fetch still waits the client's default before answering
    assert fetching.fetch_max_wait_ms == 500


@pytest.mark.parametrize("wait", ["-1", "501"])
def test_a_wait_outside_0_to_500_ms_is_refused(monkeypatch: pytest.MonkeyPatch, wait: str) -> None:
    monkeypatch.setenv("AMNESTY_SOMESERVICE_BATCH_WAIT_MS", wait)
    with pytest.raises(ValidationError, match="batch_wait_ms"):
        _Settings()


def test_the_statistics_projection_waits_longer_for_its_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMNESTY_STATISTICS_BATCH_WAIT_MS", raising=False)
    assert StatisticsSettings().fetching == Fetching(250)
    monkeypatch.setenv("AMNESTY_STATISTICS_BATCH_WAIT_MS", "50")
    assert StatisticsSettings().fetching == Fetching(50)
