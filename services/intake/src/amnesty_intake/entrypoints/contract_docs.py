"""The published contract, served: the AsyncAPI document and the JSON Schema of every message.

The committed document refers to its payload schemas by file name, which resolves next to it on disk.
Served at `/asyncapi.json`, the same references would name `/<file>` and 404, so they are rebased onto
`schemas/`, where this router serves the files: every `$ref` resolves from the document's own URL. The
document also gets the `servers` it cannot know when generated: the Kafka bootstrap intake is using.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib.resources import files
from typing import Any, Final

from fastapi import APIRouter

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


def kafka_servers(bootstrap_servers: str) -> dict[str, Any]:
    """The AsyncAPI `servers` of a Kafka bootstrap list (`host:port,host:port`), one per broker."""
    brokers = [broker.strip() for broker in bootstrap_servers.split(",") if broker.strip()]
    return {
        f"kafka-{number}": {
            "host": broker,
            "protocol": "kafka",
            "description": "A bootstrap broker of the Kafka cluster this intake consumes from and feeds.",
        }
        for number, broker in enumerate(brokers, 1)
    }


def served_asyncapi(document: Mapping[str, Any], kafka_bootstrap_servers: str) -> dict[str, Any]:
    """The committed AsyncAPI document as served: references resolvable from its URL, and `servers`."""
    served: dict[str, Any] = _rebased(document)
    served["servers"] = kafka_servers(kafka_bootstrap_servers)
    return served


def contract_router(kafka_bootstrap_servers: str) -> APIRouter:
    router = APIRouter(tags=["contract"])
    # Read once: the files are package data, fixed for the life of the process.
    document = served_asyncapi(json.loads((_SCHEMAS / "asyncapi.json").read_text()), kafka_bootstrap_servers)
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
