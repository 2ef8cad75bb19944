"""The contract's topics as the stack creates them: the domain topics kept forever, the two that hold raw
identifiers kept as long as the settings say."""

from __future__ import annotations

import pytest

from amnesty_contracts.topics import CASES, DECISIONS, REJECTED, UPSTREAM
from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.topics import DAY_MS, UNLIMITED, contract_topics


def test_domain_topics_are_kept_forever_and_raw_ones_as_configured() -> None:
    specs = {s.name: s for s in contract_topics(3, {UPSTREAM: 30, REJECTED: 0.5})}
    assert {s.partitions for s in specs.values()} == {3}
    delete = {"cleanup.policy": "delete"}
    for name in (CASES, DECISIONS):
        assert specs[name].config == delete | {"retention.ms": UNLIMITED, "retention.bytes": UNLIMITED}
    assert specs[UPSTREAM].config == delete | {"retention.ms": str(30 * DAY_MS), "retention.bytes": UNLIMITED}
    assert specs[REJECTED].config == delete | {"retention.ms": str(DAY_MS // 2), "retention.bytes": UNLIMITED}


def test_the_raw_retention_defaults_to_a_month_upstream_and_three_months_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMNESTY_REJECTED_RETENTION_DAYS", "365")
    assert InfraSettings().raw_retention_days == {UPSTREAM: 30, REJECTED: 365}
    monkeypatch.delenv("AMNESTY_REJECTED_RETENTION_DAYS")
    assert InfraSettings().raw_retention_days == {UPSTREAM: 30, REJECTED: 90}


def test_every_bootstrap_server_is_read_in_any_of_its_forms() -> None:
    """Only the first was probed, an IPv6 address in brackets never parsed (the wait ran out), and a
    server without a port raised ValueError."""
    from amnesty_runtime.stack.topics import bootstrap_addresses

    assert bootstrap_addresses("[::1]:9093, kafka-2:19092,kafka-3,[2001:db8::7]") == [
        ("::1", 9093),
        ("kafka-2", 19092),
        ("kafka-3", 9092),
        ("2001:db8::7", 9092),
    ]
