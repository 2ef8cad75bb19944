"""Everything docs/contract.md calls wrong is rejected with its reason (Kafka and HTTP); nothing stops
the flow."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from amnesty_contracts import MAX_MESSAGE_BYTES
from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.http_api import assert_problem
from tests.support.intake import (
    TOKEN,
    IntakeUnderTest,
    encoded,
    intake_under_test,
    recorded_submission_id,
    submission,
)
from tests.support.kafka import read_all
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

FIRST = submission(submission_id="dup-1")
POISON: dict[str, bytes] = {
    "invalid-json": b'{"type": "CaseOpened", "source": ',
    "invalid-encoding": b'{"type": "CaseOpened", "source": "\xff\xfe"}',
    "too-large": encoded(submission(unit="u" * (MAX_MESSAGE_BYTES + 10))),
    "unknown-type": encoded(submission("CaseForgotten")),
    "invalid-field": encoded(submission(registered_on="2025-02-30")),
    "not-an-object": b"[1, 2, 3]",
    "conflicting-duplicate": encoded(FIRST | {"article": "408"}),
}


@pytest.fixture
async def intake(endpoints: Endpoints, admin_pool: Pool, tmp_path: Path) -> AsyncIterator[IntakeUnderTest]:
    async with intake_under_test(endpoints, admin_pool, tmp_path / "intake.log") as service:
        await service.process.start()
        yield service


async def _rejected(intake: IntakeUnderTest) -> list[dict[str, object]]:
    """What is on the rejected topic once intake's outbox has drained (its relay deletes a row only
    after Kafka acknowledged it)."""
    outbox = f'SELECT count(*) FROM "{intake.schema}".outbox'
    await eventually(lambda: intake.pool.fetchval(outbox), lambda n: n == 0)
    return [json.loads(r.value) for r in await read_all(intake.bootstrap, intake.rejected)]


async def test_every_poison_message_is_rejected_and_what_follows_is_processed(
    intake: IntakeUnderTest,
) -> None:
    last = submission(submission_id="after-the-poison", person_id="4012345679")
    await intake.publish([encoded(FIRST), *POISON.values(), encoded(last)])
    await intake.consumed_everything()

    rejected = await _rejected(intake)
    assert Counter(r["reason"] for r in rejected) == Counter(POISON.keys())
    originals = {r["reason"]: r for r in rejected}
    for reason, raw in POISON.items():
        message = originals[reason]
        assert message["original_sha256"] == hashlib.sha256(raw).hexdigest()
        assert base64.b64decode(str(message["original"])) == raw[:MAX_MESSAGE_BYTES]
        assert (message["topic"], message["service"]) == (intake.upstream, "intake")
        assert isinstance(message["partition"], int)
        assert isinstance(message["offset"], int)
        assert message["detail"]
    assert "3012345678" not in json.dumps(originals["conflicting-duplicate"]["detail"])

    cases = [json.loads(r.value) for r in await read_all(intake.bootstrap, intake.cases)]
    recorded = sorted(c["submission"]["submission_id"] for c in cases)
    assert recorded == sorted(recorded_submission_id(s) for s in ["after-the-poison", "dup-1"])


async def test_every_rejection_reason_is_answered_by_http(intake: IntakeUnderTest) -> None:
    async with httpx2.AsyncClient(
        base_url=intake.process.url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        items = [
            FIRST,
            json.loads(POISON["too-large"]),
            json.loads(POISON["unknown-type"]),
            json.loads(POISON["invalid-field"]),
            [1, 2, 3],
            json.loads(POISON["conflicting-duplicate"]),
            submission(submission_id="fine"),
        ]
        response = await http.post("/v1/submissions", json=items)
        assert response.status_code == 200
        results = response.json()["results"]
        assert [r["status"] for r in results] == [
            "accepted",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "accepted",
        ]
        assert [r.get("reason") for r in results[1:6]] == [
            "too-large",
            "unknown-type",
            "invalid-field",
            "not-an-object",
            "conflicting-duplicate",
        ]
        assert "registered_on" in results[3]["detail"]

        for body, reason in (
            (POISON["invalid-json"], "invalid-json"),
            (POISON["invalid-encoding"], "invalid-encoding"),
        ):
            answer = await http.post("/v1/submissions", content=body)
            assert answer.json()["results"] == [
                {
                    "index": 0,
                    "status": "rejected",
                    "reason": reason,
                    "detail": answer.json()["results"][0]["detail"],
                }
            ]

        single = await http.post("/v1/submissions", json=FIRST)
        assert single.json()["results"] == [{"index": 0, "status": "duplicate"}]

    rejected = await _rejected(intake)
    assert Counter(r["reason"] for r in rejected) == Counter(
        [
            "too-large",
            "unknown-type",
            "invalid-field",
            "not-an-object",
            "conflicting-duplicate",
            "invalid-json",
            "invalid-encoding",
        ]
    )
    assert {(r["topic"], r["partition"], r["offset"]) for r in rejected} == {(None, None, None)}


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}"])
async def test_submissions_need_the_bearer_token(intake: IntakeUnderTest, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with httpx2.AsyncClient(base_url=intake.process.url, headers=headers) as http:
        response = await http.post("/v1/submissions", json=submission())
    assert_problem(response, 401)
    assert await intake.pool.fetchval(f'SELECT count(*) FROM "{intake.schema}".submission_log') == 0


async def test_a_resend_storm_records_each_submission_once(intake: IntakeUnderTest) -> None:
    originals = [submission(submission_id=f"storm-{i}", person_id=f"50000000{i:02d}") for i in range(40)]
    resends = [encoded(s) for s in originals for _ in range(10)]
    random.Random(7).shuffle(resends)
    await intake.publish(resends)
    async with httpx2.AsyncClient(
        base_url=intake.process.url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        for _ in range(3):
            answer = await http.post("/v1/submissions", json=originals)
            assert {r["status"] for r in answer.json()["results"]} <= {"accepted", "duplicate"}
    await intake.consumed_everything()

    assert await intake.pool.fetchval(f'SELECT count(*) FROM "{intake.schema}".submission_log') == 40
    cases = [json.loads(r.value) for r in await read_all(intake.bootstrap, intake.cases)]
    event_ids_per_submission: dict[str, set[str]] = {}
    for case in cases:
        event_ids_per_submission.setdefault(case["submission"]["submission_id"], set()).add(case["event_id"])
    assert set(event_ids_per_submission) == {recorded_submission_id(s["submission_id"]) for s in originals}
    assert all(len(ids) == 1 for ids in event_ids_per_submission.values())
    assert await _rejected(intake) == []


async def test_a_single_object_is_rejected_with_its_exact_bytes(intake: IntakeUnderTest) -> None:
    sent = b'{"type": "CaseOpened",   "source": "erdr", "submission_id": "spaced", "person_id": "3012345678"}'
    async with httpx2.AsyncClient(
        base_url=intake.process.url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        answer = await http.post("/v1/submissions", content=sent)
    assert answer.json()["results"][0]["reason"] == "invalid-field"
    (message,) = await _rejected(intake)
    assert base64.b64decode(str(message["original"])) == sent
    assert message["original_sha256"] == hashlib.sha256(sent).hexdigest()


async def test_a_bad_item_of_an_array_is_rejected_alone_with_its_exact_bytes(intake: IntakeUnderTest) -> None:
    """Parsed whole first, one item with a repeated key made the whole body one rejected message: the
    valid items around it were answered by nothing and kept nowhere."""
    bad = b'{"type": "Detained", "type": "Detained"}'
    body = b"[" + encoded(submission(submission_id="before")) + b",  " + bad + b" ,\n"
    body += encoded(submission(submission_id="after", person_id="3012345679")) + b"]"
    async with httpx2.AsyncClient(
        base_url=intake.process.url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        answer = await http.post("/v1/submissions", content=body)
    results = answer.json()["results"]
    assert [(r["index"], r["status"], r.get("reason")) for r in results] == [
        (0, "accepted", None),
        (1, "rejected", "invalid-json"),
        (2, "accepted", None),
    ]
    (message,) = await _rejected(intake)
    assert base64.b64decode(str(message["original"])) == bad
    assert message["original_sha256"] == hashlib.sha256(bad).hexdigest()


async def test_an_oversized_body_is_refused_before_it_is_read(intake: IntakeUnderTest) -> None:
    # A raw request: the declared length is what counts, before a byte of the body is read.
    reader, writer = await asyncio.open_connection("127.0.0.1", intake.process.port)
    writer.write(
        b"POST /v1/submissions HTTP/1.1\r\nHost: intake\r\nAuthorization: Bearer "
        + TOKEN.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: "
        + str(1001 * MAX_MESSAGE_BYTES).encode()
        + b"\r\nConnection: close\r\n\r\n[]"
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 413"), status_line
