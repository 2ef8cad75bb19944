"""The AsyncAPI document as the running intake serves it: a tool reading it from its URL can follow every
reference, and it names the Kafka bootstrap to connect to."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from amnesty_contracts.schema_export import asyncapi_document
from tests.support.asyncapi import references, unresolved_references
from tests.support.running_system import RunningSystem

pytestmark = pytest.mark.integration


def fetch(url: str) -> Any:
    answer = httpx2.get(url, timeout=10)
    answer.raise_for_status()
    return answer.json()


def test_every_reference_of_the_served_asyncapi_document_resolves_from_its_url(system: RunningSystem) -> None:
    url = f"{system.intake_url}/asyncapi.json"
    fetched: list[str] = []

    def fetching(target: str) -> Any:
        fetched.append(target)
        return fetch(target)

    assert unresolved_references(url, fetching) == []
    files = {ref for ref in references(asyncapi_document()) if not ref.startswith("#")}
    assert {target.rsplit("/", 1)[1] for target in fetched[1:]} == files


def test_the_served_document_is_the_committed_contract_with_servers(system: RunningSystem) -> None:
    served = fetch(f"{system.intake_url}/asyncapi.json")
    committed = asyncapi_document()
    assert served["channels"] == committed["channels"]
    assert served["operations"] == committed["operations"]
    for key, message in committed["components"]["messages"].items():
        assert served["components"]["messages"][key]["examples"] == message["examples"]
        assert served["components"]["messages"][key].get("correlationId") == message.get("correlationId")
    hosts = [server["host"] for server in served["servers"].values()]
    assert hosts
    if system.kafka_bootstrap_servers is not None:
        # The suite is given the bootstrap the services use (KAFKA_BOOTSTRAP_SERVERS); intake names it.
        expected = [broker.strip() for broker in system.kafka_bootstrap_servers.split(",")]
        assert hosts == expected, f"intake names {hosts}, the suite was told the system uses {expected}"
