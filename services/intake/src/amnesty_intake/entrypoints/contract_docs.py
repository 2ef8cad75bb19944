"""The published contract, served: the AsyncAPI document and the JSON Schema of every message.

The committed document refers to its payload schemas by file name, which resolves next to it on disk.
Served at `/asyncapi.json`, the same references would name `/<file>` and 404, so they are rebased onto
`schemas/`, where this router serves the files: every `$ref` resolves from the document's own URL. The
document also gets the `servers` it cannot know when generated: the Kafka bootstrap intake is using, and
how a client logs in there (SASL/SCRAM, over TLS or not) as a security scheme.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib.resources import files
from typing import Any, Final

from fastapi import APIRouter

from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.problems import ProblemError, problem_openapi

_SCHEMAS = files("amnesty_contracts") / "schemas"
SCHEMA_PATH: Final = "schemas/"


def _published_names() -> frozenset[str]:
    return frozenset(r.name for r in _SCHEMAS.iterdir() if r.name.endswith(".json"))


def _rebased(value: Any) -> Any:
    """`value` with every reference to another file made relative to the served document's URL."""
    if isinstance(value, Mapping):
        return {
            key: SCHEMA_PATH + item
            if key == "$ref" and isinstance(item, str) and not item.startswith("#")
            else _rebased(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rebased(item) for item in value]
    return value


# AsyncAPI 3.0 security scheme types of the SASL mechanisms a client may be given.
_SCHEME_TYPES: Final = {"SCRAM-SHA-512": "scramSha512", "SCRAM-SHA-256": "scramSha256", "PLAIN": "plain"}


def _security_scheme(kafka: KafkaClientOptions) -> tuple[str, dict[str, Any]] | None:
    if not kafka.sasl:
        return None
    name = f"sasl-{kafka.sasl_mechanism.lower()}"
    return name, {
        "type": _SCHEME_TYPES[kafka.sasl_mechanism],
        "description": (
            f"SASL/{kafka.sasl_mechanism} with a principal's username and password; ACLs per principal "
            "decide which topics it may read or write (an upstream system: write amnesty.upstream.v1 only)."
        ),
    }


def kafka_servers(kafka: KafkaClientOptions) -> dict[str, Any]:
    """The AsyncAPI `servers` of a Kafka bootstrap list (`host:port,host:port`), one per broker, with
    how a client logs in there."""
    brokers = [broker.strip() for broker in kafka.bootstrap_servers.split(",") if broker.strip()]
    scheme = _security_scheme(kafka)
    security = [{"$ref": f"#/components/securitySchemes/{scheme[0]}"}] if scheme else []
    return {
        f"kafka-{number}": {
            "host": broker,
            # AsyncAPI's name for Kafka over TLS.
            "protocol": "kafka-secure" if kafka.tls else "kafka",
            "description": "A bootstrap broker of the Kafka cluster this intake consumes from and feeds.",
        }
        | ({"security": security} if security else {})
        for number, broker in enumerate(brokers, 1)
    }


def served_asyncapi(document: Mapping[str, Any], kafka: KafkaClientOptions) -> dict[str, Any]:
    """The committed AsyncAPI document as served: references resolvable from its URL, `servers` and
    their security scheme."""
    served: dict[str, Any] = _rebased(document)
    served["servers"] = kafka_servers(kafka)
    scheme = _security_scheme(kafka)
    if scheme is not None:
        served["components"] = {**served.get("components", {}), "securitySchemes": dict([scheme])}
    return served


def contract_router(kafka: KafkaClientOptions) -> APIRouter:
    router = APIRouter(tags=["contract"])
    # Read once: the files are package data, fixed for the life of the process.
    document = served_asyncapi(json.loads((_SCHEMAS / "asyncapi.json").read_text()), kafka)
    names = _published_names() - {"asyncapi.json"}

    @router.get("/asyncapi.json")
    async def asyncapi() -> dict[str, Any]:
        return document

    @router.get("/schemas/{name}", responses={404: problem_openapi("No published schema of that name.")})
    async def schema(name: str) -> dict[str, Any]:
        if name not in names:
            raise ProblemError(404, f"no schema {name}")
        schema: dict[str, Any] = json.loads((_SCHEMAS / name).read_text())
        return schema

    return router
