"""The providers' messages as their real code makes them, for the pact verifier to check.

- intake: its admission use case (over an in-memory store) records each submission as a case event;
  the bytes are what the event store writes to the outbox, which the relay publishes unchanged.
- eligibility: its policy (over an in-memory store) reads those case event bytes as they come off the
  topic and decides; its decisions are encoded the same way.
- on a running system (test_pacts_on_the_running_system.py) the same submissions go to intake over
  HTTP, and the messages are read back off the topics.
- the upstream systems: no code of theirs is here, so the simulator, which publishes "like any upstream
  system", stands in for each: the first submission of each type it sends as that system.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pact import Verifier
from pact.types import Message

from amnesty_contracts import CASES, DECISIONS, UPSTREAM
from amnesty_eventstore import AppendRequest, NewEvent
from amnesty_eventstore.appending import encode_appends, event_key
from amnesty_eventstore.consumption import Delivery
from amnesty_intake.domain.admission import Verdict
from amnesty_intake.domain.pseudonyms import Pseudonymizer
from amnesty_intake.service_layer.admission import Admission, Incoming
from amnesty_simulator.calibration import calibrate, read_figures, return_targets
from amnesty_simulator.submissions import submissions
from amnesty_simulator.world import generate
from tests.contract.message_pacts import PACT_DIR, described
from tests.unit.eligibility.fake_store import FakePersonStore, eligibility
from tests.unit.intake.fake_store import KEY, FakeIntakeStore

RECORDED_AT: Final = datetime(2025, 11, 3, 10, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Published:
    """One message as it goes onto its topic."""

    topic: str
    key: bytes | None
    value: bytes

    def message(self) -> Message:
        """As the pact verifier's message handler returns it."""
        metadata: dict[str, Any] = {"topic": self.topic}
        if self.key is not None:
            metadata["key"] = self.key.decode()
        return Message(contents=self.value, metadata=metadata, content_type="application/json")


def published(event: NewEvent) -> Published:
    """`event` as the relay publishes it: the outbox's key and value, as the event store encodes them."""
    assert event.topic is not None, f"{event.type} is not routed to a topic"
    (value,) = encode_appends([AppendRequest("the-stream", [event])]).payloads
    return Published(event.topic, event_key(event), value)


def distinct_person() -> str:
    """A service number no other run uses (1 in 10^8 per pair): a long-lived system keeps every
    person's history, so a run of its own starts from none."""
    return f"CT-{secrets.randbelow(10**8):08d}"


@dataclass(frozen=True, slots=True)
class Submitter:
    """Builds one person's submissions. `run` goes into every submission_id: distinct per run against
    a long-lived system (a resend would only be a duplicate) and per person (else a conflict)."""

    person_id: str = "3012345678"
    run: str = "1"

    def submission(self, type_name: str, name: str, **fields: Any) -> dict[str, Any]:
        common = {"type": type_name, "source": "erdr", "submission_id": f"{name}-{self.run}"}
        return common | {"person_id": self.person_id} | fields

    def opened(self, case_number: str, absent_since: str, registered_on: str) -> dict[str, Any]:
        return self.submission(
            "CaseOpened",
            f"open-{absent_since}",
            case_number=case_number,
            article="407",
            absent_since=absent_since,
            registered_on=registered_on,
            region="UA-48",
        )

    def returned(self, on: str) -> dict[str, Any]:
        return self.submission(
            "VoluntaryReturn", f"return-{on}", source="army-plus", returned_on=on, channel="army-plus"
        )

    def case_submissions(self) -> dict[str, dict[str, Any]]:
        """One submission of each case event type; intake's events of them are verified on its pact."""
        return {
            "CaseOpened": self.opened("12025100000004217", "2025-03-01", "2025-03-05"),
            "VoluntaryReturn": self.returned("2025-06-01"),
            "Detained": self.submission("Detained", "mp", source="military-police", detained_on="2025-05-21"),
            "CaseReclassified": self.submission(
                "CaseReclassified",
                "reclassify",
                case_number="12025100000004217",
                article="408",
                reclassified_on="2025-04-01",
            ),
            "CaseClosed": self.submission(
                "CaseClosed",
                "close",
                source="courts",
                case_number="12025100000004217",
                closed_on="2025-07-01",
                outcome="released",
            ),
        }

    def decision_history(self, type_name: str) -> list[dict[str, Any]]:
        """The submissions, in order, after which eligibility's last decision is of type `type_name`;
        the last return in it is the one decided."""
        histories = {
            "AmnestyGranted": [
                self.opened("12025100000004217", "2025-03-01", "2025-03-05"),
                self.returned("2025-06-01"),
            ],
            "AmnestyDenied": [
                self.opened("12025100000004217", "2025-09-10", "2025-09-12"),
                self.returned("2025-10-01"),
            ],
            "EligibilityPending": [self.returned("2025-06-01")],
            "AmnestyRevoked": [
                self.opened("12025100000004217", "2025-03-01", "2025-03-05"),
                self.returned("2025-06-01"),
                self.opened("12024100000000042", "2024-06-01", "2024-06-03"),
            ],
        }
        return histories[type_name]


DECISION_TYPES: Final = ("AmnestyGranted", "AmnestyDenied", "EligibilityPending", "AmnestyRevoked")


def encoded(submission: Mapping[str, Any]) -> bytes:
    return json.dumps(submission).encode()


async def intake_records(submissions: Sequence[bytes]) -> list[NewEvent]:
    """The case events intake records for `submissions`, all of which it must accept, in order."""
    store = FakeIntakeStore()
    admission = Admission(
        pseudonyms=Pseudonymizer(KEY), store=lambda _conn: store, cases_topic=CASES, clock=lambda: RECORDED_AT
    )
    outcomes = await admission.admit(store, [Incoming(raw) for raw in submissions])
    assert [o.verdict for o in outcomes] == [Verdict.ACCEPTED] * len(submissions), outcomes
    return store.events


async def eligibility_decides(case_events: Sequence[NewEvent]) -> list[NewEvent]:
    """The decisions eligibility publishes as it consumes `case_events`, one batch each, in order."""
    store = FakePersonStore()
    policy = eligibility(store)
    for offset, event in enumerate(case_events):
        wire = published(event)
        delivery = Delivery(wire.topic, 0, offset, wire.key, wire.value)
        apply = policy.prepare([delivery])
        await apply(None, [delivery])  # type: ignore[arg-type]  # the in-memory store takes no connection
    return store.published(DECISIONS)


async def intake_messages() -> dict[str, Published]:
    """Intake's message of each case event type, by the pact's description of it."""
    return {
        described(type_name, "event"): published(event)
        for type_name, submission in Submitter().case_submissions().items()
        for event in await intake_records([encoded(submission)])
    }


async def eligibility_messages() -> dict[str, Published]:
    """Eligibility's message of each decision type, by the pact's description of it."""
    messages: dict[str, Published] = {}
    for type_name in DECISION_TYPES:
        history = [encoded(submission) for submission in Submitter().decision_history(type_name)]
        decisions = await eligibility_decides(await intake_records(history))
        assert decisions, f"no decision after the {type_name} history"
        assert decisions[-1].type == type_name, [d.type for d in decisions]
        messages[described(type_name, "event")] = published(decisions[-1])
    return messages


# How the simulator names each upstream system as a source (reserve battalions are numbered).
SIMULATED_SOURCES: Final = {
    "erdr": "erdr",
    "army-plus": "army-plus",
    "reserve-battalion": "reserve-battalion-",
    "military-police": "military-police",
    "courts": "court-registry",
}


def simulated_upstream() -> dict[str, dict[str, Published]]:
    """For each upstream system, the simulator's first submission of each type sent as that system."""
    figures = read_figures()
    first, last = (2024, 11), (2025, 6)
    world = generate(
        calibrate(figures, first, last),
        return_targets(figures),
        first=first,
        last=last,
        scale=0.01,
        seed=2024,
    )
    found: dict[str, dict[str, Published]] = {system: {} for system in SIMULATED_SOURCES}
    systems = {source: system for system, source in SIMULATED_SOURCES.items()}
    for outgoing in submissions(world, seed=2024):
        try:
            submission = json.loads(outgoing.value)
        except json.JSONDecodeError:
            continue  # the simulator's deliberately malformed messages are no system's submission
        system = systems.get(str(submission.get("source", "")).rstrip("0123456789"))
        if system is not None:
            found[system].setdefault(
                described(submission["type"], "submission"), Published(UPSTREAM, outgoing.key, outgoing.value)
            )
    return found


def verify(provider: str, file_name: str, messages: Mapping[str, Published]) -> None:
    """Run pact-python's verifier of `provider` on the committed pact `file_name`, giving it `messages`
    by description; fails with the verifier's report."""
    verifier = Verifier(provider).message_handler({d: m.message() for d, m in messages.items()})
    verifier.add_source(PACT_DIR / file_name)
    try:
        verifier.verify()
    except RuntimeError as error:
        raise AssertionError(f"{provider} breaks {file_name}:\n{verifier.output(strip_ansi=True)}") from error
