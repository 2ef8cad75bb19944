"""Intake's HTTP door against a hostile or broken sender, on a real intake process.

The findings: one bearer token for every upstream (`source` was whatever the sender claimed); a lone
surrogate in one item of an array was a 500 that lost the whole batch; bodies up to 64 MB were parsed
on the event loop (a 16 MB body slowed /healthz tenfold); slow partial requests were held open.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx2
import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.intake import SOURCE_TOKENS, TOKEN, IntakeUnderTest, intake_under_test, submission

pytestmark = pytest.mark.integration

COURTS, ERDR = SOURCE_TOKENS["court-registry"], SOURCE_TOKENS["erdr"]
TIMEOUT_S = 2  # the body and request-head deadlines of the intake under test
NEVER = 60  # how long a test waits for what must happen after TIMEOUT_S


@pytest.fixture(scope="module")
async def intake(
    endpoints: Endpoints, admin_pool: Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[IntakeUnderTest]:
    logs = tmp_path_factory.mktemp("intake") / "intake.log"
    limits = {
        "AMNESTY_INTAKE_BODY_SECONDS": str(TIMEOUT_S),
        "AMNESTY_INTAKE_HTTP_REQUEST_HEAD_SECONDS": str(TIMEOUT_S),
    }
    async with intake_under_test(endpoints, admin_pool, logs, extra_env=limits) as service:
        await service.process.start()
        yield service


def _client(intake: IntakeUnderTest, token: str) -> httpx2.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx2.AsyncClient(base_url=intake.process.url, headers=headers, timeout=NEVER)


def _courts_closure(submission_id: str) -> dict[str, object]:
    return submission(
        "CaseClosed",
        source="court-registry",
        submission_id=submission_id,
        case_number="12024100000001234",
        closed_on="2025-03-01",
        outcome="released",
    )


async def test_a_source_token_submits_only_as_its_own_source(intake: IntakeUnderTest) -> None:
    async with _client(intake, COURTS) as courts:
        own = await courts.post("/v1/submissions", json=_courts_closure("courts-own"))
        as_erdr = await courts.post("/v1/submissions", json=submission(submission_id="courts-as-erdr"))
        mixed = await courts.post(
            "/v1/submissions",
            json=[_courts_closure("courts-mixed"), submission(submission_id="courts-mixed")],
        )
    assert own.status_code == 200, own.text
    assert own.json()["results"][0]["status"] == "accepted"
    for refused in (as_erdr, mixed):
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"].endswith(":source-not-allowed")
    # Nothing of a refused request was admitted: a resend under the right token is new.
    async with _client(intake, ERDR) as erdr:
        resent = await erdr.post("/v1/submissions", json=submission(submission_id="courts-as-erdr"))
    assert resent.json()["results"][0]["status"] == "accepted"


async def test_an_unknown_token_is_a_401_and_the_operator_token_any_source(intake: IntakeUnderTest) -> None:
    async with _client(intake, "not-a-token-" + "x" * 24) as stranger:
        unknown = await stranger.post("/v1/submissions", json=submission(submission_id="stranger"))
    async with _client(intake, TOKEN) as operator:
        both = await operator.post(
            "/v1/submissions", json=[_courts_closure("operator-1"), submission(submission_id="operator-2")]
        )
    assert unknown.status_code == 401
    assert [r["status"] for r in both.json()["results"]] == ["accepted", "accepted"]


async def test_each_bad_item_of_an_array_is_rejected_and_the_good_ones_admitted(
    intake: IntakeUnderTest,
) -> None:
    items: list[object] = [
        submission("VoluntaryReturn", submission_id="batch-good-1"),
        submission("VoluntaryReturn", submission_id="batch-surrogate", person_id="\ud800"),
        submission("VoluntaryReturn", submission_id="batch-surrogate-in-unit", unit="A\udfff1"),
        submission("VoluntaryReturn", submission_id="batch-wrong-type", returned_on=20250115),
        42,
        "a string",
        None,
        submission("VoluntaryReturn", submission_id="batch-good-2"),
    ]
    # json.dumps writes the lone surrogates as \ud800 escapes: valid JSON, but no UTF-8 can hold them.
    body = json.dumps(items).encode()
    async with _client(intake, ERDR) as erdr:
        answer = await erdr.post(
            "/v1/submissions", content=body, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["index"], r["status"], r.get("reason")) for r in results] == [
        (0, "accepted", None),
        (1, "rejected", "invalid-field"),
        (2, "rejected", "invalid-field"),
        (3, "rejected", "invalid-field"),
        (4, "rejected", "not-an-object"),
        (5, "rejected", "not-an-object"),
        (6, "rejected", "not-an-object"),
        (7, "accepted", None),
    ]
    assert results[1]["detail"].startswith("person_id:")
    assert results[2]["detail"].startswith("unit:")
    assert results[3]["detail"].startswith("returned_on:")


async def _raw_request(intake: IntakeUnderTest, head: bytes, body_chunks: AsyncIterator[bytes]) -> bytes:
    """Send a request by hand (its body as it comes) and read the answer; b"" if the server closes the
    connection without one."""
    address = urlsplit(intake.process.url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)

    async def send() -> None:
        writer.write(head)
        async for chunk in body_chunks:
            writer.write(chunk)
            await writer.drain()

    sending = asyncio.create_task(send())
    try:
        return await asyncio.wait_for(_answer(reader), NEVER)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        writer.close()


async def _answer(reader: asyncio.StreamReader) -> bytes:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as closed:
        return closed.partial
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    return head + await reader.readexactly(length)


async def _no_body() -> AsyncIterator[bytes]:
    empty: tuple[bytes, ...] = ()
    for chunk in empty:
        yield chunk


def _head(length: int | None) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST /v1/submissions HTTP/1.1\r\nHost: intake\r\nAuthorization: Bearer {ERDR}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()


async def test_a_16_mb_body_is_a_413_while_healthz_answers(intake: IntakeUnderTest) -> None:
    megabyte = b"[" + b" " * (1024 * 1024 - 2) + b","

    async def chunked() -> AsyncIterator[bytes]:
        # No Content-Length to judge by: the cap must hold while the body streams in.
        for _ in range(16):
            yield f"{len(megabyte):x}\r\n".encode() + megabyte + b"\r\n"
            await asyncio.sleep(0)

    upload = asyncio.create_task(_raw_request(intake, _head(None), chunked()))
    async with httpx2.AsyncClient(base_url=intake.process.url, timeout=NEVER) as http:
        health = [(await http.get("/healthz")).status_code]
        while not upload.done():
            health.append((await http.get("/healthz")).status_code)
    answer = await upload
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"too-large" in answer
    assert set(health) == {200}


async def test_a_body_declared_over_the_cap_is_refused_before_it_is_read(intake: IntakeUnderTest) -> None:
    answer = await _raw_request(intake, _head(16 * 1024 * 1024), _no_body())
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


async def test_a_slow_partial_body_is_cut_with_a_408_and_the_connection_closed(
    intake: IntakeUnderTest,
) -> None:
    async def trickle() -> AsyncIterator[bytes]:
        yield b'[{"type": "Detained",'
        await asyncio.sleep(NEVER)  # the rest never comes

    answer = await _raw_request(intake, _head(1000), trickle())
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"request-timeout" in answer
    assert b"\r\nconnection: close\r\n" in answer.lower()


async def test_a_request_whose_headers_never_end_is_closed(intake: IntakeUnderTest) -> None:
    half_a_head = (
        f"POST /v1/submissions HTTP/1.1\r\nHost: intake\r\nAuthorization: Bearer {ERDR}\r\n".encode()
    )
    answer = await _raw_request(intake, half_a_head, _no_body())
    assert answer == b"", "the server closed the connection without an answer"
