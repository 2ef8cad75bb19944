from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from pydantic import JsonValue
from referencing import Registry, Resource

from amnesty_contracts import ALL_TOPICS, TOPICS, UPSTREAM, Rejection, RejectionReason, rejected_message
from amnesty_contracts.schema_export import (
    ASYNCAPI_FILE,
    EXAMPLES_DIR,
    REGENERATE,
    SCHEMA_DIR,
    asyncapi_document,
    main,
    message_schemas,
    rendered_files,
    stale_files,
    write_schemas,
)

from .examples import (
    CASE_EVENT_DATA,
    DECISION_EVENT_DATA,
    OPTIONAL_FIELDS,
    RECORDED_AT,
    SUBMISSION_TYPES,
    encode,
    envelope,
    submission,
)


def test_the_committed_schemas_match_the_models() -> None:
    stale = stale_files(SCHEMA_DIR)
    assert not stale, f"{SCHEMA_DIR} is out of date ({', '.join(stale)}); regenerate with: {REGENERATE}"


def test_rendering_is_deterministic_with_sorted_keys_and_a_final_newline() -> None:
    first, second = rendered_files(), rendered_files()
    assert first == second
    for text in first.values():
        assert text.endswith("}\n")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_every_message_has_a_schema() -> None:
    expected = {f"upstream.{name}.json" for name in SUBMISSION_TYPES} | {"upstream.Submission.json"}
    expected |= {f"cases.{name}.json" for name in CASE_EVENT_DATA} | {"cases.CaseEvent.json"}
    expected |= {f"decisions.{name}.json" for name in DECISION_EVENT_DATA} | {"decisions.DecisionEvent.json"}
    expected |= {"rejected.RejectedMessage.json"}
    assert set(message_schemas()) == expected
    assert set(rendered_files()) == expected | {ASYNCAPI_FILE}


def test_the_asyncapi_document_names_the_four_topics_and_every_message_type() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    channels = document["channels"]
    assert {channel["address"] for channel in channels.values()} == set(ALL_TOPICS)
    messages = document["components"]["messages"]
    for channel in channels.values():
        topic = TOPICS[channel["address"]]
        assert set(channel["messages"]) == set(topic.message_types)
        for name, ref in channel["messages"].items():
            message = messages[ref["$ref"].removeprefix("#/components/messages/")]
            assert message["name"] == name
            assert (SCHEMA_DIR / message["payload"]["$ref"]).is_file()
            assert message["bindings"]["kafka"]["key"]["description"] == topic.key


def test_asyncapi_operations_point_at_existing_channels_and_messages() -> None:
    document = asyncapi_document()
    for operation in document["operations"].values():
        channel_id = operation["channel"]["$ref"].removeprefix("#/channels/")
        channel = document["channels"][channel_id]
        for ref in operation["messages"]:
            assert ref["$ref"].startswith(f"#/channels/{channel_id}/messages/")
            assert ref["$ref"].rsplit("/", 1)[1] in channel["messages"]
    senders = {op["channel"]["$ref"] for op in document["operations"].values() if op["action"] == "send"}
    assert len(senders) == 4


def test_domain_topics_are_described_with_unlimited_retention() -> None:
    channels = asyncapi_document()["channels"]
    for name in ("cases", "decisions"):
        assert channels[name]["bindings"]["kafka"]["topicConfiguration"] == {"retention.ms": -1}


@cache
def published() -> dict[str, str]:
    return rendered_files()


def validator(file_name: str) -> Any:
    schema = json.loads(published()[file_name])
    return Draft202012Validator(
        schema,
        registry=Registry().with_resource(file_name, Resource.from_contents(schema)),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


@pytest.mark.parametrize("type_name", SUBMISSION_TYPES)
def test_good_submissions_satisfy_their_schema_and_the_union(type_name: str) -> None:
    for message in (submission(type_name), submission(type_name, **OPTIONAL_FIELDS[type_name])):
        validator(f"upstream.{type_name}.json").validate(message)
        validator("upstream.Submission.json").validate(message)


@pytest.mark.parametrize(
    "changes",
    [
        {"case_number": "1" * 16},
        {"article": 407},
        {"region": "UA-99"},
        {"registered_on": "2025-02-30"},
        {"type": "CaseClosed"},
        {"person_id": ""},
    ],
)
def test_the_schema_refuses_what_the_models_refuse(changes: dict[str, JsonValue]) -> None:
    message = submission("CaseOpened", **changes)
    assert not validator("upstream.CaseOpened.json").is_valid(message)


def test_the_schema_requires_the_type_of_a_submission() -> None:
    message = submission("Detained")
    del message["type"]
    assert not validator("upstream.Detained.json").is_valid(message)


@pytest.mark.parametrize(
    ("file_name", "union", "type_name", "data"),
    [
        *(("cases", "CaseEvent", name, data) for name, data in CASE_EVENT_DATA.items()),
        *(("decisions", "DecisionEvent", name, data) for name, data in DECISION_EVENT_DATA.items()),
    ],
)
def test_events_satisfy_their_schema_and_their_topics_union(
    file_name: str, union: str, type_name: str, data: dict[str, JsonValue]
) -> None:
    event = envelope(type_name, data)
    validator(f"{file_name}.{type_name}.json").validate(event)
    validator(f"{file_name}.{union}.json").validate(event)
    without_id = {key: value for key, value in event.items() if key != "event_id"}
    assert not validator(f"{file_name}.{type_name}.json").is_valid(without_id)


def test_a_rejected_message_satisfies_its_schema() -> None:
    message = rejected_message(
        encode(submission("Detained")),
        Rejection(RejectionReason.CONFLICTING_DUPLICATE, "resent with different content"),
        topic=UPSTREAM,
        partition=0,
        offset=7,
        service="intake",
        now=RECORDED_AT,
    )
    validator("rejected.RejectedMessage.json").validate(json.loads(message.model_dump_json()))


def test_write_schemas_rewrites_exactly_the_published_files(tmp_path: Path) -> None:
    (tmp_path / "retired.Message.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "cases.CaseOpened.json").write_text("{}\n", encoding="utf-8")
    changed = write_schemas(tmp_path)
    assert "retired.Message.json" in changed
    assert "cases.CaseOpened.json" in changed
    assert {path.name for path in tmp_path.iterdir()} == set(rendered_files())
    assert write_schemas(tmp_path) == []


def test_main_checks_and_regenerates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check", "--output", str(tmp_path)]) == 1
    assert REGENERATE in capsys.readouterr().err
    assert main(["--output", str(tmp_path)]) == 0
    assert main(["--check", "--output", str(tmp_path)]) == 0


def _messages() -> dict[str, Any]:
    messages: dict[str, Any] = asyncapi_document()["components"]["messages"]
    return messages


@pytest.mark.parametrize("message_id", sorted(_messages()))
def test_every_message_has_examples_its_payload_schema_accepts(message_id: str) -> None:
    message = _messages()[message_id]
    examples = message["examples"]
    assert examples
    assert len({example["name"] for example in examples}) == len(examples)
    for example in examples:
        validator(message["payload"]["$ref"]).validate(example["payload"])


def test_the_examples_are_every_valid_one_of_the_examples_folder_under_its_message() -> None:
    published = {
        example["summary"]: (key, example["payload"])
        for key, message in _messages().items()
        for example in message["examples"]
    }
    files = sorted(EXAMPLES_DIR.glob("*/valid/*.json"))
    assert files
    assert set(published) == {f"examples/{path.relative_to(EXAMPLES_DIR).as_posix()}" for path in files}
    for path in files:
        key, payload = published[f"examples/{path.relative_to(EXAMPLES_DIR).as_posix()}"]
        assert payload == json.loads(path.read_text(encoding="utf-8"))
        assert key.split(".", 1)[1] in {payload.get("type"), "RejectedMessage"}


def test_the_document_is_generated_only_with_an_examples_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no examples folder"):
        asyncapi_document(tmp_path / "nowhere")


@pytest.mark.parametrize("message_id", sorted(_messages()))
def test_a_message_names_where_its_correlation_id_is_and_its_examples_have_it_there(message_id: str) -> None:
    message = _messages()[message_id]
    if message_id.startswith("rejected."):
        # Tied to its original by topic, partition and offset; it carries no correlation id.
        assert "correlationId" not in message
        return
    field = message["correlationId"]["location"].removeprefix("$message.payload#/")
    assert field in {"correlation_id", "submission_id"}
    for example in message["examples"]:
        assert example["payload"][field]


def test_examples_outside_the_upstream_topic_never_show_a_raw_identifier_in_clear() -> None:
    messages = _messages()
    raw = {
        str(example["payload"][field])
        for key, message in messages.items()
        if key.startswith("upstream.")
        for example in message["examples"]
        for field in ("person_id", "case_number")
        if field in example["payload"]
    }
    assert raw
    events = json.dumps([m["examples"] for k, m in messages.items() if not k.startswith("upstream.")])
    assert not [identifier for identifier in raw if identifier in events]


def test_the_asyncapi_document_reads_as_asyncapi_3_in_faststreams_own_models() -> None:
    # FastStream's models of AsyncAPI 3.0 are a second reader besides the specification: they refuse,
    # for instance, a correlationId given by reference.
    from faststream.specification.asyncapi.v3_0_0.schema import ApplicationSchema

    schema = ApplicationSchema.model_validate(asyncapi_document())
    assert schema.components is not None
    assert set(schema.components.messages or {}) == set(asyncapi_document()["components"]["messages"])
