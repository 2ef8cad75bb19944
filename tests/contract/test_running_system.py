"""The contract suite's interface with whoever runs it: given addresses are used and nothing starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.running_system import SystemAddresses, running_system

ADDRESSES = (
    "AMNESTY_INTAKE_URL",
    "AMNESTY_ELIGIBILITY_URL",
    "AMNESTY_STATISTICS_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "AMNESTY_INTAKE_API_TOKEN",
    "AMNESTY_INTAKE_API_TOKEN_FILE",
)


@pytest.fixture(autouse=True)
def nothing_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests say what is given: not what the environment they run in (compose's contract
    container) gives the rest of the suite."""
    for name in ADDRESSES:
        monkeypatch.delenv(name, raising=False)


async def test_given_addresses_are_used_as_they_are_and_nothing_local_is_needed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AMNESTY_INTAKE_URL", "http://intake:8001/")
    monkeypatch.setenv("AMNESTY_ELIGIBILITY_URL", "http://eligibility:8002")
    monkeypatch.setenv("AMNESTY_STATISTICS_URL", "http://statistics:8000")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    async with running_system(SystemAddresses(), None, tmp_path) as system:
        assert (system.intake_url, system.eligibility_url, system.statistics_url) == (
            "http://intake:8001",
            "http://eligibility:8002",
            "http://statistics:8000",
        )
        assert system.kafka_bootstrap_servers == "kafka:9092"
        assert system.intake_api_token is None


def test_a_system_is_given_only_when_every_service_address_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMNESTY_INTAKE_URL", "http://intake:8001")
    assert SystemAddresses().given is None
    monkeypatch.setenv("AMNESTY_ELIGIBILITY_URL", "http://eligibility:8002")
    monkeypatch.setenv("AMNESTY_STATISTICS_URL", "http://statistics:8000")
    assert SystemAddresses().given == (
        "http://intake:8001",
        "http://eligibility:8002",
        "http://statistics:8000",
    )


def test_intakes_token_is_read_from_its_file_as_intake_reads_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text("s3cret-token\n", encoding="utf-8")
    monkeypatch.setenv("AMNESTY_INTAKE_API_TOKEN_FILE", str(tmp_path / "token"))
    assert SystemAddresses().token() == "s3cret-token"
    monkeypatch.setenv("AMNESTY_INTAKE_API_TOKEN", "from-the-variable")
    assert SystemAddresses().token() == "from-the-variable"
