"""The consumer-driven message pacts: what each consumer expects of each producer, per message.

Every producer -> consumer pair of the system has a pact: intake -> eligibility and intake -> statistics
on amnesty.cases.v1, eligibility -> statistics on amnesty.decisions.v1, and each upstream system ->
intake on amnesty.upstream.v1 (what intake must be sent to accept a submission, for the upstream teams
to verify their systems against). The example bodies are messages of `examples/`, cut to the fields
their type requires: a consumer depends on those, and reads an optional one when it is there. Matchers
say which parts are fixed (message type, schema version, enumerations) and which only have a shape
(ids, dates, pseudonyms), so a provider's real message with other values still honours the pact.

The files in `pacts/` are committed; `python -m tests.contract.message_pacts` rewrites them, and a test
fails when they differ from what this module defines.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pact import Pact, match
from pact.match.matcher import AbstractMatcher
from pydantic import BaseModel

from amnesty_contracts import (
    CASE_EVENT_MODELS,
    CASES,
    DECISION_EVENT_MODELS,
    DECISIONS,
    SUBMISSION_MODELS,
    UPSTREAM,
    Article,
    Branch,
    Channel,
    Outcome,
)
from amnesty_contracts.decision_events import DenialReason, PendingReason
from tests.support.examples import EXAMPLES

PACT_DIR: Final = Path(__file__).resolve().parent / "pacts"
REGENERATE: Final = "uv run --frozen python -m tests.contract.message_pacts"
SPECIFICATION: Final = "V4"

_UUID: Final = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_DATE: Final = r"\d{4}-\d{2}-\d{2}"
_TIMESTAMP: Final = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"
# Intake's keyed pseudonyms: HMAC-SHA256 in URL-safe base64 without padding.
_PSEUDONYM: Final = r"[A-Za-z0-9_-]{43}"


def _one_of(values: type[Any]) -> str:
    return "|".join(str(value) for value in values)


def _anchored(regex: str) -> str:
    # Pact's regex matcher searches; anchored, a value must match whole (no 18 digits for 17).
    return f"^(?:{regex})$"


def _pattern(regex: str) -> Callable[[Any], AbstractMatcher[Any]]:
    return lambda value: match.regex(value, regex=_anchored(regex))


def _shape(value: Any) -> AbstractMatcher[Any]:
    return match.like(value)


# The matcher of a field by its name, the same wherever it appears. A field not listed must equal the
# example; `type` and `schema_version` are meant to: a consumer reads the version it was written for.
_EVENT_FIELDS: Final[Mapping[str, Callable[[Any], AbstractMatcher[Any]]]] = {
    "event_id": _pattern(_UUID),
    "correlation_id": _pattern(_UUID),
    "causation_id": _pattern(_UUID),
    "revokes": _pattern(_UUID),
    "occurred_on": _pattern(_DATE),
    "absent_since": _pattern(_DATE),
    "registered_on": _pattern(_DATE),
    "returned_on": _pattern(_DATE),
    "detained_on": _pattern(_DATE),
    "reclassified_on": _pattern(_DATE),
    "closed_on": _pattern(_DATE),
    "recorded_at": _pattern(_TIMESTAMP),
    "reinstate_by": _pattern(_TIMESTAMP),
    "person": _pattern(_PSEUDONYM),
    "case_number": _pattern(_PSEUDONYM),
    "article": _pattern(_one_of(Article)),
    "branch": _pattern(_one_of(Branch)),
    "channel": _pattern(_one_of(Channel)),
    "outcome": _pattern(_one_of(Outcome)),
    "region": _pattern(r"UA-\d{2}"),
    "article_part": _shape,
    "source": _shape,
    "submission_id": _shape,
    "unit": _shape,
    "regime": _shape,
    "rule_set": _shape,
    # Free-form by contract (what the rules used, for a reader): expected an object, nothing of it.
    "facts": lambda _value: match.like({}),
}
_DECISION_REASONS: Final = {
    "AmnestyDenied": _one_of(DenialReason),
    "AmnestyRevoked": _one_of(DenialReason),
    "EligibilityPending": _one_of(PendingReason),
}
# What upstream sends: the raw identifiers, as the contract defines them.
_SUBMISSION_FIELDS: Final[Mapping[str, Callable[[Any], AbstractMatcher[Any]]]] = {
    **{name: matcher for name, matcher in _EVENT_FIELDS.items() if name not in {"person", "case_number"}},
    "person_id": _pattern(r"[ -~]{1,64}"),
    "case_number": _pattern(r"\d{17}"),
}


def _with_matchers(
    payload: Mapping[str, Any], fields: Mapping[str, Callable[[Any], AbstractMatcher[Any]]]
) -> dict[str, Any]:
    matched: dict[str, Any] = {}
    for name, value in payload.items():
        if value is None:
            # An optional field left out: the consumer does not depend on it, whatever it holds.
            continue
        if name in fields:
            matched[name] = fields[name](value)
        elif isinstance(value, Mapping):
            matched[name] = _with_matchers(value, fields)
        else:
            matched[name] = value
    return matched


def described(type_name: str, kind: str) -> str:
    """How a pact names a message of `type_name`: "an AmnestyGranted event", "a CaseOpened submission"."""
    article = "an" if type_name[0] in "AEIOU" else "a"
    return f"{article} {type_name} {kind}"


@dataclass(frozen=True, slots=True)
class Expectation:
    """One message a consumer expects: described, in a provider state, with its body and metadata."""

    description: str
    state: str
    body: dict[str, Any]
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MessagePact:
    consumer: str
    provider: str
    topic: str
    expectations: tuple[Expectation, ...]

    @property
    def file_name(self) -> str:
        return f"{self.consumer}-{self.provider}.json"

    def build(self) -> Pact:
        """The pact-python pact of these expectations (the FFI holds it; write it with `write_file`)."""
        pact = Pact(self.consumer, self.provider).with_specification(SPECIFICATION)
        for expectation in self.expectations:
            (
                pact.upon_receiving(expectation.description, "Async")
                .given(expectation.state)
                .with_body(expectation.body, "application/json")
                .with_metadata(expectation.metadata)
            )
        return pact


def _example(topic: str, name: str) -> dict[str, Any]:
    example: dict[str, Any] = json.loads(
        (EXAMPLES / topic / "valid" / f"{name}.json").read_text(encoding="utf-8")
    )
    return example


def _required(payload: Mapping[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """`payload` without the fields `model` has as optional, absent by default (a nested model's too);
    `type` and `schema_version`, whose defaults say what the message is, stay."""
    kept: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name not in payload or (not field.is_required() and field.default is None):
            continue
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel) and isinstance(payload[name], Mapping):
            kept[name] = _required(payload[name], nested)
        else:
            kept[name] = payload[name]
    return kept


def _event_expectation(topic: str, example: str, state: str) -> Expectation:
    payload = _example(topic, example)
    type_name = payload["type"]
    models: Mapping[str, type[BaseModel]] = {**CASE_EVENT_MODELS, **DECISION_EVENT_MODELS}
    fields = dict(_EVENT_FIELDS)
    if type_name in _DECISION_REASONS:
        fields["reason"] = _pattern(_DECISION_REASONS[type_name])
    body = _with_matchers(_required(payload, models[type_name]), fields)
    # The Kafka key is the person pseudonym, so that one person's events keep their order.
    metadata = {"topic": topic, "key": _pattern(_PSEUDONYM)(payload["person"])}
    return Expectation(described(type_name, "event"), state, body, metadata)


# The example of each case event type the pacts of amnesty.cases.v1 show.
CASE_EXAMPLES: Final = {
    "CaseOpened": "case-opened",
    "VoluntaryReturn": "voluntary-return",
    "Detained": "detained",
    "CaseReclassified": "case-reclassified",
    "CaseClosed": "case-closed",
}


def case_events_pact(consumer: str) -> MessagePact:
    """What `consumer` expects intake to publish on amnesty.cases.v1: every case event type."""
    return MessagePact(
        consumer,
        "intake",
        CASES,
        tuple(
            _event_expectation(CASES, example, f"{described(name, 'submission')} was accepted")
            for name, example in CASE_EXAMPLES.items()
        ),
    )


# The example of each decision type, and the provider state that leads to one.
DECISION_EXAMPLES: Final = {
    "AmnestyGranted": ("amnesty-granted", "a return inside a window, its case known"),
    "AmnestyDenied": ("amnesty-denied", "a return after every window, its case known"),
    "EligibilityPending": ("eligibility-pending", "a return whose case is not known yet"),
    "AmnestyRevoked": ("amnesty-revoked", "a granted return, then an earlier case of the person"),
}


def decisions_pact() -> MessagePact:
    """What statistics expects eligibility to publish on amnesty.decisions.v1: every decision type."""
    return MessagePact(
        "statistics",
        "eligibility",
        DECISIONS,
        tuple(_event_expectation(DECISIONS, example, state) for example, state in DECISION_EXAMPLES.values()),
    )


# Which submissions each upstream system sends, by the example of `examples/` that shows one.
UPSTREAM_SYSTEMS: Final[Mapping[str, tuple[str, ...]]] = {
    "erdr": ("erdr-case-opened-required-only", "erdr-case-reclassified"),
    "army-plus": ("army-plus-voluntary-return",),
    "reserve-battalion": ("reserve-battalion-voluntary-return",),
    "military-police": ("military-police-detained",),
    "courts": ("court-case-closed",),
}


def upstream_pact(system: str) -> MessagePact:
    """What intake expects `system` to publish on amnesty.upstream.v1 for a submission to be accepted."""
    expectations = []
    for example in UPSTREAM_SYSTEMS[system]:
        payload = _example(UPSTREAM, example)
        type_name = payload["type"]
        body = _with_matchers(_required(payload, SUBMISSION_MODELS[type_name]), _SUBMISSION_FIELDS)
        # A channel says what the system is, so it is fixed; the source only names one of its kind.
        if "channel" in payload:
            body["channel"] = payload["channel"]
        expectations.append(
            Expectation(
                described(type_name, "submission"),
                f"{system} has {described(type_name, 'submission')} to send",
                body,
                {"topic": UPSTREAM},
            )
        )
    return MessagePact("intake", system, UPSTREAM, tuple(expectations))


def all_pacts() -> list[MessagePact]:
    """Every pact of the system, one per producer -> consumer pair."""
    return [
        case_events_pact("eligibility"),
        case_events_pact("statistics"),
        decisions_pact(),
        *(upstream_pact(system) for system in UPSTREAM_SYSTEMS),
    ]


def write_pacts(directory: Path) -> list[Path]:
    """Write every pact into `directory` (replacing what is there); return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    for message_pact in all_pacts():
        message_pact.build().write_file(directory, overwrite=True)
    return [directory / message_pact.file_name for message_pact in all_pacts()]


def main() -> int:
    for path in write_pacts(PACT_DIR):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
