"""Fuzzing the running system (real Kafka, PostgreSQL and the three services as processes, one system for
the module): fuzzed upstream messages each end as a case event or a rejection with their bytes, and fuzzed
HTTP requests to every endpoint are never a server error and every client error is a problem."""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import TypeVar

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amnesty_contracts import MAX_MESSAGE_BYTES, Rejection, parse_submission
from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.fuzz.budget import FEW, FUZZ
from tests.fuzz.http_requests import (
    Call,
    answered_properly,
    common_calls,
    headers,
    request_arguments,
    stats_calls,
    submission_bodies,
)
from tests.fuzz.upstream_messages import upstream_bytes
from tests.support.intake import TOKEN, recorded_submission_id
from tests.support.kafka import read_all
from tests.support.pipeline import Pipeline, pipeline_under_test
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

T = TypeVar("T")
MESSAGES = 300


@pytest.fixture(scope="module")
async def system(
    endpoints: Endpoints, admin_pool: Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Pipeline]:
    async with pipeline_under_test(endpoints, admin_pool, tmp_path_factory.mktemp("fuzz")) as pipeline:
        await pipeline.start()
        yield pipeline


def examples(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """``count`` examples of ``strategy``, the same every run (derandomized)."""
    drawn: list[T] = []

    @settings(FUZZ, max_examples=count)
    @given(strategy)
    def draw(value: T) -> None:
        drawn.append(value)

    draw()
    return drawn


async def test_every_fuzzed_upstream_message_ends_as_a_case_event_or_a_rejection_with_its_bytes(
    system: Pipeline,
) -> None:
    intake = system.intake
    await intake.publish(examples(upstream_bytes, MESSAGES))
    await intake.consumed_everything(timeout_s=120)
    outbox = f'SELECT count(*) FROM "{intake.schema}".outbox'
    await eventually(lambda: intake.pool.fetchval(outbox), lambda n: n == 0)

    sent = await read_all(intake.bootstrap, intake.upstream)
    rejected = {
        (m["partition"], m["offset"]): m
        for m in (json.loads(r.value) for r in await read_all(intake.bootstrap, intake.rejected))
        if m["topic"] == intake.upstream
    }
    recorded = [json.loads(r.value)["submission"] for r in await read_all(intake.bootstrap, intake.cases)]
    admitted: set[tuple[str, str]] = set()
    for record in sent:
        at = (record.partition, record.offset)
        if at in rejected:
            assert base64.b64decode(rejected[at]["original"]) == record.value[:MAX_MESSAGE_BYTES], at
            assert rejected[at]["original_sha256"] == hashlib.sha256(record.value).hexdigest(), at
            continue
        submission = parse_submission(record.value)
        assert not isinstance(submission, Rejection), (at, submission)
        # Recorded as intake records it: the submission_id as its keyed digest.
        admitted.add((submission.source, recorded_submission_id(submission.submission_id)))
    assert len(sent) == MESSAGES
    # 0 silent drops: every message not rejected is a case event, once (resends of one are duplicates).
    # Counted among the admitted keys only: the HTTP tests of this module may record cases of their own.
    events = Counter((s["source"], s["submission_id"]) for s in recorded)
    assert {key: events[key] for key in admitted} == dict.fromkeys(admitted, 1)
    assert rejected, "the fuzzed messages rejected none: the fuzzer sent nothing wrong"
    assert admitted, "the fuzzed messages admitted none: the fuzzer sent nothing valid"


def _send(client: httpx2.Client, call: Call) -> httpx2.Response:
    return client.request(call.method, call.path, **request_arguments(call))


def _fuzz(url: str, calls: st.SearchStrategy[Call]) -> None:
    with httpx2.Client(base_url=url, timeout=30) as client:

        @FEW
        @given(calls)
        def answers_properly(call: Call) -> None:
            answered_properly(_send(client, call), call)

        answers_properly()


def test_the_statistics_api_answers_any_parameters_without_a_server_error(system: Pipeline) -> None:
    _fuzz(system.statistics.process.url, stats_calls() | common_calls())


def test_eligibility_answers_any_request_without_a_server_error(system: Pipeline) -> None:
    _fuzz(system.eligibility.process.url, common_calls())


@st.composite
def _submission_posts(draw: st.DrawFn) -> Call:
    given_headers = draw(headers)
    if draw(st.booleans()):
        given_headers["Authorization"] = f"Bearer {TOKEN}"
    return Call("POST", "/v1/submissions", [], given_headers, draw(submission_bodies))


def test_intake_answers_any_request_and_any_submission_body_without_a_server_error(system: Pipeline) -> None:
    _fuzz(system.intake.process.url, _submission_posts() | common_calls())
