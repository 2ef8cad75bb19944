"""Publish the contract: JSON Schema for every message and an AsyncAPI 3.0 document for the topics.

Run `uv run --frozen python -m amnesty_contracts.schema_export` after changing a model; the files in
`amnesty_contracts/schemas/` (package data) are committed, and a unit test fails when they drift
from the models.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from amnesty_contracts.case_events import CASE_EVENT_ADAPTER, CASE_EVENT_MODELS
from amnesty_contracts.decision_events import DECISION_EVENT_ADAPTER, DECISION_EVENT_MODELS
from amnesty_contracts.rejected import RejectedMessage
from amnesty_contracts.signature_headers import signature_headers_schema
from amnesty_contracts.submissions import SUBMISSION_ADAPTER, SUBMISSION_MODELS
from amnesty_contracts.topics import CASES, DECISIONS, DEFAULT_PARTITIONS, REJECTED, TOPICS, UPSTREAM, Topic

REGENERATE: Final = "uv run --frozen python -m amnesty_contracts.schema_export"
SCHEMA_DIR: Final = Path(__file__).resolve().parent / "schemas"  # package data: services serve them
ASYNCAPI_FILE: Final = "asyncapi.json"


def _repository_examples() -> Path:
    """The repository's examples/: beside these sources in a checkout (an editable install), else in the
    working directory (the package installed into an environment and run from the repository, as in
    the compose contract-tests image)."""
    beside = Path(__file__).resolve().parents[4] / "examples"
    return beside if beside.is_dir() else Path.cwd() / "examples"


# The repository's examples/<topic>/valid/*.json: the document's message examples are taken from there
# (the generator runs from a checkout; the served document is the committed file and needs none).
EXAMPLES_DIR: Final = _repository_examples()

_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
_GENERATED: Final = f"Generated from the amnesty_contracts models by `{REGENERATE}`; do not edit."
_KAFKA_BINDING: Final = "0.5.0"
_UNLIMITED: Final = -1


def _channel(topic: Topic) -> str:
    # "amnesty.cases.v1" -> "cases": the short name prefixes the schema files and names the channel.
    return topic.name.split(".")[1]


def _schema(title: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": _DIALECT, "$comment": _GENERATED, **schema, "title": title}


def _model_schema(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
    return _schema(model.__name__, model.model_json_schema(mode=mode))


def _union_schema(title: str, adapter: TypeAdapter[Any], mode: JsonSchemaMode) -> dict[str, Any]:
    return _schema(title, adapter.json_schema(mode=mode))


def message_schemas() -> dict[str, dict[str, Any]]:
    """Return every message's JSON Schema by file name: `<channel>.<message type>.json`.

    Submissions are described as accepted (validation mode: optional fields may be left out); events and
    rejected messages as written (serialization mode: every field is present).
    """
    upstream, cases, decisions, rejected = (
        _channel(TOPICS[name]) for name in (UPSTREAM, CASES, DECISIONS, REJECTED)
    )
    schemas: dict[str, dict[str, Any]] = {}
    for name, submission in SUBMISSION_MODELS.items():
        schemas[f"{upstream}.{name}.json"] = _model_schema(submission, "validation")
    schemas[f"{upstream}.Submission.json"] = _union_schema("Submission", SUBMISSION_ADAPTER, "validation")
    for name, case_event in CASE_EVENT_MODELS.items():
        schemas[f"{cases}.{name}.json"] = _model_schema(case_event, "serialization")
    schemas[f"{cases}.CaseEvent.json"] = _union_schema("CaseEvent", CASE_EVENT_ADAPTER, "serialization")
    for name, decision_event in DECISION_EVENT_MODELS.items():
        schemas[f"{decisions}.{name}.json"] = _model_schema(decision_event, "serialization")
    schemas[f"{decisions}.DecisionEvent.json"] = _union_schema(
        "DecisionEvent", DECISION_EVENT_ADAPTER, "serialization"
    )
    schemas[f"{rejected}.RejectedMessage.json"] = _model_schema(RejectedMessage, "serialization")
    return schemas


def _key_schema(topic: Topic) -> dict[str, Any]:
    # A rejected message keeps the key it arrived with, which may have been absent.
    key_type: str | list[str] = ["string", "null"] if topic.name == REJECTED else "string"
    return {"type": key_type, "description": topic.key}


def _asyncapi_channel(topic: Topic) -> dict[str, Any]:
    channel = _channel(topic)
    retention = {"retention.ms": _UNLIMITED} if topic.unlimited_retention else {}
    personal = " Holds raw personal identifiers." if topic.raw_personal_data else ""
    return {
        "address": topic.name,
        "title": topic.title,
        "description": f"{topic.content}. Produced by {topic.producer}; key: {topic.key}.{personal}",
        "messages": {
            name: {"$ref": f"#/components/messages/{channel}.{name}"} for name in topic.message_types
        },
        "bindings": {
            "kafka": {
                "partitions": DEFAULT_PARTITIONS,
                "topicConfiguration": retention,
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    }


def _asyncapi_operations(topic: Topic) -> dict[str, Any]:
    channel = _channel(topic)
    messages = [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in topic.message_types]
    operations: dict[str, Any] = {
        f"send-{channel}": {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "title": f"{topic.producer} publish {topic.title.lower()}",
            "messages": messages,
        }
    }
    for consumer in topic.consumers:
        operations[f"receive-{channel}-{consumer}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
            "title": f"{consumer} consumes {topic.title.lower()}",
            "messages": messages,
        }
    return operations


# Where a message carries the id that ties it to the submission behind it. Events carry it as
# `correlation_id`; a submission has none yet: intake derives it from (source, submission_id). A
# rejected message is tied to its original by topic, partition and offset instead, so it has none.
_CORRELATION_IDS: Final[dict[str, dict[str, str]]] = {
    "event": {
        "description": "The id shared by every event a submission causes, in every service.",
        "location": "$message.payload#/correlation_id",
    },
    "submission": {
        "description": (
            "With `source`, the submission's idempotency key; the `correlation_id` of every event it "
            "causes is derived from the pair (UUIDv5)."
        ),
        "location": "$message.payload#/submission_id",
    },
}
_CORRELATION_OF_CHANNEL: Final = {UPSTREAM: "submission", CASES: "event", DECISIONS: "event"}


def _examples_by_message(examples: Path) -> dict[str, list[dict[str, Any]]]:
    """The valid examples of every topic, by the message they are examples of."""
    if not examples.is_dir():
        raise FileNotFoundError(f"no examples folder at {examples}")
    found: dict[str, list[dict[str, Any]]] = {}
    for topic in TOPICS.values():
        for path in sorted((examples / topic.name / "valid").glob("*.json")):
            payload = json.loads(path.read_text(encoding="utf-8"))
            type_name = topic.message_types[0] if len(topic.message_types) == 1 else payload["type"]
            found.setdefault(f"{_channel(topic)}.{type_name}", []).append(
                {"name": path.stem, "summary": f"examples/{topic.name}/valid/{path.name}", "payload": payload}
            )
    return found


def _asyncapi_message(topic: Topic, name: str, file: str, examples: list[dict[str, Any]]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": name,
        "title": f"{name} on {topic.name}",
        "contentType": "application/json",
        "payload": {"$ref": file},
        "bindings": {"kafka": {"key": _key_schema(topic), "bindingVersion": _KAFKA_BINDING}},
        "examples": examples,
    }
    if topic.domain:  # domain events are signed by their producer; consumers verify before reading
        message["headers"] = signature_headers_schema(topic.producer)
    correlation = _CORRELATION_OF_CHANNEL.get(topic.name)
    if correlation is not None:
        # Inline rather than a reference: simpler readers of AsyncAPI 3 (FastStream's models among
        # them) accept only the object here.
        message["correlationId"] = dict(_CORRELATION_IDS[correlation])
    return message


def _asyncapi_messages(
    topic: Topic, files: Mapping[str, str], examples: Mapping[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    channel = _channel(topic)
    return {
        f"{channel}.{name}": _asyncapi_message(
            topic, name, files[f"{channel}.{name}"], examples.get(f"{channel}.{name}", [])
        )
        for name in topic.message_types
    }


def asyncapi_document(examples: Path = EXAMPLES_DIR) -> dict[str, Any]:
    """Return the AsyncAPI 3.0 document of the four topics, their keys and message payloads.

    Payloads refer to the JSON Schema files of `message_schemas()`, next to the document; each message
    has the valid examples of `examples` (the repository's examples/ folder) of its type and, where it
    carries one, the location of its correlation id. `servers` is left to
    whoever serves the document: only it knows the Kafka bootstrap it was configured with.
    """
    files = {name.removesuffix(".json"): name for name in message_schemas()}
    by_message = _examples_by_message(examples)
    topics = list(TOPICS.values())
    return {
        "asyncapi": "3.0.0",
        "x-generated-by": _GENERATED,
        "info": {
            "title": "amnesty-events",
            "version": version("amnesty-contracts"),
            "description": (
                "Cases of unauthorized absence and desertion (Criminal Code art. 407, 408) and the "
                "voluntary-return amnesty. Upstream systems submit facts; intake validates, pseudonymizes "
                "and records them as case events; eligibility decides each voluntary return; every refused "
                "message goes to the rejected topic with its reason and original bytes."
            ),
        },
        "defaultContentType": "application/json",
        "channels": {_channel(topic): _asyncapi_channel(topic) for topic in topics},
        "operations": {key: op for topic in topics for key, op in _asyncapi_operations(topic).items()},
        "components": {
            "messages": {
                key: msg
                for topic in topics
                for key, msg in _asyncapi_messages(topic, files, by_message).items()
            },
        },
    }


def _render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered_files(examples: Path = EXAMPLES_DIR) -> dict[str, str]:
    """Return the exact text of every published file, by file name (deterministic: sorted keys)."""
    files = {name: _render(schema) for name, schema in message_schemas().items()}
    files[ASYNCAPI_FILE] = _render(asyncapi_document(examples))
    return files


def stale_files(directory: Path, examples: Path = EXAMPLES_DIR) -> list[str]:
    """Return the names of the files in `directory` that differ from, lack or outlive the models."""
    expected = rendered_files(examples)
    present = {path.name for path in directory.glob("*.json")}
    changed = [
        name
        for name, text in expected.items()
        if not (directory / name).is_file() or _read(directory / name) != text
    ]
    return sorted({*changed, *(present - expected.keys())})


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def write_schemas(directory: Path, examples: Path = EXAMPLES_DIR) -> list[str]:
    """Rewrite `directory` to hold exactly the published files; return the names written or removed."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = rendered_files(examples)
    stale = stale_files(directory, examples)
    for name in stale:
        if name in expected:
            (directory / name).write_text(expected[name], encoding="utf-8")
        else:
            (directory / name).unlink()
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the schema folder, or with `--check` only report whether it is up to date."""
    parser = argparse.ArgumentParser(prog="python -m amnesty_contracts.schema_export", description=__doc__)
    parser.add_argument(
        "--output", type=Path, default=SCHEMA_DIR, help="folder to write (default: %(default)s)"
    )
    parser.add_argument(
        "--examples",
        type=Path,
        default=EXAMPLES_DIR,
        help="example messages to publish (default: %(default)s)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the folder is not up to date")
    args = parser.parse_args(argv)
    if not args.examples.is_dir():
        parser.error(f"no examples folder at {args.examples}: run from a checkout or give --examples")
    if args.check:
        stale = stale_files(args.output, args.examples)
        for name in stale:
            print(f"out of date: {args.output / name}", file=sys.stderr)
        if stale:
            print(f"regenerate with: {REGENERATE}", file=sys.stderr)
        return 1 if stale else 0
    for name in write_schemas(args.output, args.examples):
        print(f"updated {args.output / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
