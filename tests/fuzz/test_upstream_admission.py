"""Upstream bytes through intake's admission in-process: whatever arrives is admitted or rejected with a
machine-readable reason and its original bytes; never an exception, never nothing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from amnesty_contracts import MAX_MESSAGE_BYTES, RejectedMessage, RejectionReason
from amnesty_intake.domain.admission import Verdict
from amnesty_intake.service_layer.admission import Incoming, Outcome
from tests.fuzz.budget import FUZZ
from tests.fuzz.upstream_messages import upstream_bytes
from tests.unit.intake.fake_store import FakeIntakeStore, admission


def _admit(batch: list[bytes]) -> tuple[list[Outcome], FakeIntakeStore]:
    store = FakeIntakeStore()
    items = [Incoming(raw, b"key", "upstream", 0, offset) for offset, raw in enumerate(batch)]
    return asyncio.run(admission(store).admit(store, items)), store


@FUZZ
@given(st.lists(upstream_bytes, min_size=1, max_size=8))
def test_every_message_is_admitted_or_rejected_with_its_reason_and_its_bytes(batch: list[bytes]) -> None:
    outcomes, store = _admit(batch)

    assert len(outcomes) == len(batch)
    rejected = [i for i, o in enumerate(outcomes) if o.verdict is Verdict.REJECTED]
    accepted = [i for i, o in enumerate(outcomes) if o.verdict is Verdict.ACCEPTED]
    assert {o.verdict for o in outcomes} <= set(Verdict)
    for i in rejected:
        assert outcomes[i].reason in set(RejectionReason), outcomes[i]
        assert outcomes[i].detail
    # One dead letter per rejection, in order, each carrying the bytes received and where they sat.
    letters = [RejectedMessage.model_validate_json(d.value) for d in store.dead_letters]
    assert [m.offset for m in letters] == rejected
    for message in letters:
        raw = batch[message.offset or 0]
        assert base64.b64decode(message.original) == raw[:MAX_MESSAGE_BYTES]
        assert message.original_sha256 == hashlib.sha256(raw).hexdigest()
    assert {e.event_id for e in store.events} == {outcomes[i].event_id for i in accepted}
    assert len(store.events) == len(accepted)


@FUZZ
@given(upstream_bytes)
def test_the_same_bytes_again_are_a_duplicate_or_the_same_rejection(raw: bytes) -> None:
    (first, again), store = _admit([raw, raw])

    if first.verdict is Verdict.REJECTED:
        assert (again.verdict, again.reason) == (Verdict.REJECTED, first.reason)
    else:
        assert (first.verdict, again.verdict) == (Verdict.ACCEPTED, Verdict.DUPLICATE)
        assert len(store.events) == 1


@FUZZ
@given(
    st.recursive(st.just([]), lambda inner: st.lists(inner, max_size=2), max_leaves=4), st.integers(1, 5000)
)
def test_deeply_nested_json_is_rejected_not_a_recursion_error(shape: list[object], depth: int) -> None:
    raw = (b"[" * depth) + json.dumps(shape).encode() + (b"]" * depth)
    ((outcome,), _) = _admit([raw])

    assert outcome.verdict is Verdict.REJECTED
    assert outcome.reason in set(RejectionReason)
