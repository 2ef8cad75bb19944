"""The intake use case in-process, against an in-memory store: accepted, duplicate, conflicting, rejected,
and nothing of a raw identifier in what it records."""

from __future__ import annotations

import base64
import json
import uuid

from amnesty_contracts import MAX_MESSAGE_BYTES
from amnesty_eventstore.consumption import Delivery
from amnesty_eventstore.outbox_relay import EVENT_ID_HEADER, OutboxMessage
from amnesty_eventstore.record_batches import MAX_REQUEST_BYTES, record_size
from amnesty_eventstore.signatures import Signer, SigningKey
from amnesty_intake.domain.admission import Verdict
from amnesty_intake.domain.pseudonyms import Pseudonymizer
from amnesty_intake.service_layer.admission import Incoming
from tests.support.intake import encoded, submission

from .fake_store import KEY, FakeIntakeStore, admission

PERSON_ID, CASE_NUMBER = "3012345678", "12024100000001234"


def opened(submission_id: str, **fields: str) -> bytes:
    return encoded(
        submission(submission_id=submission_id, person_id=PERSON_ID, case_number=CASE_NUMBER, **fields)
    )


async def test_a_new_submission_becomes_a_pseudonymized_case_event_of_its_person() -> None:
    store = FakeIntakeStore()
    (outcome,) = await admission(store).admit(store, [Incoming(opened("s-1"))])
    assert outcome.verdict is Verdict.ACCEPTED
    (event,) = store.events
    assert (event.type, event.topic, event.event_id) == ("CaseOpened", "cases", outcome.event_id)
    person = Pseudonymizer(KEY).person(PERSON_ID)
    recorded_person = event.document["person"]
    assert (list(store.streams), event.key, recorded_person) == ([f"person-{person}"], person, person)
    recorded = json.dumps(event.document)
    assert PERSON_ID not in recorded
    assert CASE_NUMBER not in recorded
    submission_id = Pseudonymizer(KEY).submission_id("s-1")
    assert event.document["submission"] == {"source": "erdr", "submission_id": submission_id}


async def test_a_resend_is_a_duplicate_and_other_content_under_its_key_is_rejected() -> None:
    store = FakeIntakeStore()
    use_case = admission(store)
    await use_case.admit(store, [Incoming(opened("s-1"))])
    outcomes = await use_case.admit(
        store, [Incoming(opened("s-1")), Incoming(opened("s-1", article="408"), b"key", "up", 2, 7)]
    )
    assert [o.verdict for o in outcomes] == [Verdict.DUPLICATE, Verdict.REJECTED]
    assert outcomes[1].reason == "conflicting-duplicate"
    assert len(store.events) == 1
    (letter,) = store.dead_letters
    message = json.loads(letter.value)
    assert (letter.key, message["reason"], message["partition"], message["offset"]) == (
        b"key",
        "conflicting-duplicate",
        2,
        7,
    )
    assert base64.b64decode(message["original"]) == opened("s-1", article="408")


async def test_bad_bytes_are_dead_lettered_with_their_reason_and_the_rest_is_recorded() -> None:
    store = FakeIntakeStore()
    items = [Incoming(b"{not json"), Incoming(opened("s-2")), Incoming(b'{"type": "Nope"}')]
    outcomes = await admission(store).admit(store, items)
    assert [(o.verdict, o.reason) for o in outcomes] == [
        (Verdict.REJECTED, "invalid-json"),
        (Verdict.ACCEPTED, None),
        (Verdict.REJECTED, "unknown-type"),
    ]
    assert [json.loads(d.value)["reason"] for d in store.dead_letters] == ["invalid-json", "unknown-type"]
    assert len(store.events) == 1


async def test_the_dead_letter_of_a_message_with_a_huge_key_fits_in_a_kafka_request() -> None:
    """A key near the broker's limit, copied whole into the dead letter with the relay's headers, made
    a record no request can carry: the relay retried it for good and held up the outbox behind it."""
    store = FakeIntakeStore()
    key = b"k" * 970_000
    (outcome,) = await admission(store).admit(store, [Incoming(b"x" * 70_000, key, "up", 0, 1)])
    assert (outcome.verdict, outcome.reason) == (Verdict.REJECTED, "too-large")
    (letter,) = store.dead_letters
    assert letter.key == key[:MAX_MESSAGE_BYTES]
    # As the relay publishes it: its event id header, then the producer's signature headers.
    signer = Signer(SigningKey("intake", b"i" * 32))
    headers = [
        (EVENT_ID_HEADER, str(uuid.uuid4()).encode()),
        *signer.headers("rejected", letter.key, letter.value),
    ]
    size = record_size(OutboxMessage(1, "", "rejected", letter.key, letter.value, headers))
    assert size <= MAX_REQUEST_BYTES


async def test_the_kafka_door_prepares_the_whole_batch_and_records_what_the_consumer_leaves() -> None:
    store = FakeIntakeStore()
    deliveries = [Delivery("up", 0, n, None, opened(f"s-{n}")) for n in range(3)]
    apply = admission(store).prepare(deliveries)
    report = await apply(None, deliveries[1:])  # type: ignore[arg-type]  # the fake needs no connection
    assert list(report.types) == ["CaseOpened", "CaseOpened"]
    assert sorted(key[1] for key in store.log) == ["s-1", "s-2"]
