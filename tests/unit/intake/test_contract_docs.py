"""Intake's published contract as served: every reference resolves from the document's URL, and the
document names the Kafka bootstrap intake was configured with."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from amnesty_contracts.schema_export import asyncapi_document
from amnesty_intake.entrypoints.contract_docs import contract_router, kafka_servers, served_asyncapi
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.service import service_app
from tests.support.asyncapi import references, unresolved_references

BASE = "http://testserver"


@pytest.fixture(scope="module")
def client() -> TestClient:
    # The service's own app: its problem handler answers the 404s.
    app = service_app("intake")
    app.include_router(contract_router(KafkaClientOptions("broker-1:9092,broker-2:9092")))
    return TestClient(app)


def fetch_with(client: TestClient) -> Any:
    def fetch(url: str) -> Any:
        answer = client.get(url)
        answer.raise_for_status()
        return answer.json()

    return fetch


def test_every_reference_of_the_served_document_resolves_from_its_url(client: TestClient) -> None:
    fetched: list[str] = []
    fetch = fetch_with(client)

    def recording(url: str) -> Any:
        fetched.append(url)
        return fetch(url)

    assert unresolved_references(f"{BASE}/asyncapi.json", recording) == []
    # The payload schemas were really followed: one fetch per message type's schema file, and no more.
    schema_files = {ref for ref in references(asyncapi_document()) if not ref.startswith("#")}
    assert {url.removeprefix(f"{BASE}/schemas/") for url in fetched[1:]} == schema_files
    assert len(schema_files) == 15


def test_the_committed_references_would_404_from_the_served_url_unless_rebased(client: TestClient) -> None:
    # The fault this router fixes: file names resolved against /asyncapi.json name files at the root.
    def committed(url: str) -> Any:
        return asyncapi_document() if url.endswith("/asyncapi.json") else fetch_with(client)(url)

    assert len(unresolved_references(f"{BASE}/asyncapi.json", committed)) == 15


def test_a_broken_reference_is_reported_with_where_it_was_found(client: TestClient) -> None:
    document = served_asyncapi(asyncapi_document(), KafkaClientOptions("kafka:9092"))
    document["components"]["messages"]["cases.CaseOpened"]["payload"] = {"$ref": "schemas/cases.Gone.json"}
    document["channels"]["cases"]["messages"]["Extra"] = {"$ref": "#/components/messages/cases.Extra"}

    def fetch(url: str) -> Any:
        return document if url.endswith("/asyncapi.json") else fetch_with(client)(url)

    problems = unresolved_references(f"{BASE}/asyncapi.json", fetch)
    assert len(problems) == 2
    assert any("schemas/cases.Gone.json (" in problem and "404" in problem for problem in problems)
    assert any("#/components/messages/cases.Extra (no #/components" in problem for problem in problems)


def test_the_served_document_names_each_configured_bootstrap_broker(client: TestClient) -> None:
    servers = client.get("/asyncapi.json").json()["servers"]
    assert [(s["host"], s["protocol"]) for s in servers.values()] == [
        ("broker-1:9092", "kafka"),
        ("broker-2:9092", "kafka"),
    ]
    assert list(kafka_servers(KafkaClientOptions(" kafka:9092 "))) == ["kafka-1"]


def test_the_served_document_says_how_a_client_logs_in() -> None:
    kafka = KafkaClientOptions("kafka:9092", "SASL_SSL", "SCRAM-SHA-512", "upstream", "secret")
    served = served_asyncapi(asyncapi_document(), kafka)

    (server,) = served["servers"].values()
    assert server["protocol"] == "kafka-secure"
    assert server["security"] == [{"$ref": "#/components/securitySchemes/sasl-scram-sha-512"}]
    assert served["components"]["securitySchemes"]["sasl-scram-sha-512"]["type"] == "scramSha512"
    assert "secret" not in json.dumps(served), "the password is the client's, never the document's"
    assert served["components"]["messages"] == _rebased_messages()
    plain = served_asyncapi(
        asyncapi_document(), KafkaClientOptions("kafka:9092", "SASL_PLAINTEXT", "SCRAM-SHA-512", "u", "p")
    )
    assert [s["protocol"] for s in plain["servers"].values()] == ["kafka"]


def _rebased_messages() -> Any:
    return served_asyncapi(asyncapi_document(), KafkaClientOptions("kafka:9092"))["components"]["messages"]


def test_the_served_document_is_the_committed_one_plus_servers_and_rebased_references(
    client: TestClient,
) -> None:
    served = client.get("/asyncapi.json").json()
    committed = asyncapi_document()
    assert set(served) == {*committed, "servers"}
    assert served["channels"] == committed["channels"]
    message = served["components"]["messages"]["decisions.AmnestyGranted"]
    assert message["payload"] == {"$ref": "schemas/decisions.AmnestyGranted.json"}
    assert message["examples"] == committed["components"]["messages"]["decisions.AmnestyGranted"]["examples"]


def test_only_published_schemas_are_served(client: TestClient) -> None:
    assert client.get("/schemas/cases.CaseOpened.json").status_code == 200
    for name in ("asyncapi.json", "cases.Nothing.json", "..%2Fparsing.py", "py.typed"):
        assert client.get(f"/schemas/{name}").status_code == 404, name
