"""Provenance on the real stack: events written straight to the domain topics by anyone but their
producer are dead-lettered by eligibility and statistics and never counted, while genuine events flow.

The three services run as real processes, chained by real topics; the forger is a plain Kafka client
(as anyone who can reach the broker is).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from amnesty_contracts import Event
from amnesty_eventstore import Pool
from amnesty_eventstore.outbox_relay import EVENT_ID_HEADER
from amnesty_eventstore.signatures import Signer, SigningKey
from amnesty_runtime.stack import Endpoints
from tests.support.domain_events import EventFactory, encoded
from tests.support.intake import TOKEN, submission
from tests.support.kafka import read_all
from tests.support.pipeline import Pipeline, pipeline_under_test
from tests.support.provenance import signer
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

ALICE, BOHDAN = "3012345678", "3012345679"
FIRST_WINDOW = {"absent_since": "2024-11-02", "registered_on": "2024-11-20", "region": "UA-48"}
FORGER = Signer(SigningKey("eligibility", b"not eligibility's key, but who can tell".ljust(32)))
"""Someone claiming to be eligibility, with a key of their own."""


async def test_forged_case_and_grant_are_dead_lettered_and_never_counted(
    endpoints: Endpoints, admin_pool: Pool, tmp_path: Path
) -> None:
    async with pipeline_under_test(endpoints, admin_pool, tmp_path) as pipeline:
        await pipeline.start()
        await submit(pipeline, [submission(person_id=ALICE, case_number="12024100000000001", **FIRST_WINDOW)])
        await submit(pipeline, [submission("VoluntaryReturn", person_id=ALICE, returned_on="2025-01-15")])
        await figures(pipeline, lambda s: s["amnesties_granted"] == 1)

        f = EventFactory(source="erdr")
        forged_case = f.case_opened("p_forged", "c_forged", "2024-11-20", region="UA-30")
        forged_return = f.voluntary_return("p_forged", "2025-01-15")
        grant = f.granted(forged_return, regime="pilot-2026")
        genuine_decision = (await read_all(endpoints.kafka_admin, pipeline.eligibility.decisions))[0]
        tampered = json.loads(genuine_decision.value)
        tampered["data"]["regime"] = "pilot-2026"
        decisions = pipeline.eligibility.decisions
        forgeries = [  # topic, event, signed by: each refused for another reason
            (pipeline.intake.cases, forged_case, None),  # unsigned
            (decisions, grant, None),  # unsigned
            (decisions, grant, FORGER),  # unknown-key: claims eligibility under a key of its own
            (decisions, grant, signer("intake")),  # producer-not-allowed: intake does not decide
        ]
        async with _producer(endpoints) as producer:
            for topic, event, signing in forgeries:
                await producer.send_and_wait(
                    topic, encoded(event), key=event.person.encode(), headers=_headers(topic, event, signing)
                )
            # A genuine decision's headers on changed bytes: replayed signatures prove nothing.
            await producer.send_and_wait(
                decisions,
                json.dumps(tampered).encode(),
                key=genuine_decision.key,
                headers=list(genuine_decision.headers),
            )
        # Genuine events after the forgeries still flow.
        await submit(
            pipeline,
            [
                submission(
                    person_id=BOHDAN,
                    case_number="12025100000000002",
                    absent_since="2025-04-01",
                    registered_on="2025-04-10",
                    region="UA-30",
                )
            ],
        )
        await figures(pipeline, lambda s: s["cases_opened"] == 2)
        await settled(pipeline)

        summary = await figures(pipeline, lambda _: True)
        assert (summary["cases_opened"], summary["amnesties_granted"]) == (2, 1)
        assert summary["amnesties_granted_by_regime"] == {"window-1": 1}
        assert summary["voluntary_returns"] == 1

        stats_letters = await dead_letters(endpoints, pipeline.statistics.rejected)
        assert Counter(letter["reason"] for letter in stats_letters) == {
            "unsigned": 2,
            "unknown-key": 1,
            "producer-not-allowed": 1,
            "bad-signature": 1,
        }
        assert {letter["service"] for letter in stats_letters} == {"statistics"}
        forged_bytes = encoded(forged_case)
        eligibility_letters = await dead_letters(endpoints, pipeline.eligibility.rejected)
        assert [(x["reason"], x["original_sha256"]) for x in eligibility_letters] == [
            ("unsigned", hashlib.sha256(forged_bytes).hexdigest())
        ]
        assert base64.b64decode(eligibility_letters[0]["original"]) == forged_bytes

        stored = await pipeline.eligibility.pool.fetchval(
            f"SELECT count(*) FROM \"{pipeline.eligibility.schema}\".events WHERE data->>'person' = $1",
            "p_forged",
        )
        assert stored == 0, "eligibility stored the forged case as a fact"

        async with httpx2.AsyncClient() as http:
            stats_metrics = (await http.get(f"{pipeline.statistics.process.url}/metrics")).text
            eligibility_metrics = (await http.get(f"{pipeline.eligibility.process.url}/metrics")).text
        assert "pilot-2026" not in stats_metrics
        cases = pipeline.intake.cases
        assert _unverified(stats_metrics, "statistics") == {
            (cases, "unsigned"): 1,
            (decisions, "unsigned"): 1,
            (decisions, "unknown-key"): 1,
            (decisions, "producer-not-allowed"): 1,
            (decisions, "bad-signature"): 1,
        }
        assert _unverified(eligibility_metrics, "eligibility") == {(cases, "unsigned"): 1}


async def submit(pipeline: Pipeline, items: list[dict[str, Any]]) -> None:
    async with httpx2.AsyncClient(
        base_url=pipeline.intake.process.url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        for item in items:
            response = await http.post("/v1/submissions", json=item)
            assert response.json()["results"][0]["status"] == "accepted"


async def figures(pipeline: Pipeline, done: Any) -> dict[str, Any]:
    async with httpx2.AsyncClient(base_url=pipeline.statistics.process.url) as http:

        async def summary() -> dict[str, Any]:
            return dict((await http.get("/v1/stats/summary")).json())

        return dict(await eventually(summary, done, timeout_s=90))


async def settled(pipeline: Pipeline) -> None:
    """Both consumers have applied everything on their topics and published their dead letters."""
    await pipeline.eligibility.settled()
    stats = pipeline.statistics
    await stats.caught_up()

    async def pending() -> int:
        return int(await stats.pool.fetchval(f'SELECT count(*) FROM "{stats.schema}".outbox'))

    await eventually(pending, lambda n: n == 0, 60)


async def dead_letters(endpoints: Endpoints, topic: str) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in await read_all(endpoints.kafka_admin, topic)]


def _headers(topic: str, event: Event, signing: Signer | None) -> list[tuple[str, bytes]]:
    headers = [(EVENT_ID_HEADER, str(event.event_id).encode())]
    if signing is not None:
        headers += signing.headers(topic, event.person.encode(), encoded(event))
    return headers


def _unverified(exposition: str, service: str) -> dict[tuple[str, str], float]:
    """amnesty_events_unverified_total of ``service`` by (topic, reason), as /metrics shows it."""
    return {
        (sample.labels["topic"], sample.labels["reason"]): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "amnesty_events_unverified_total" and sample.labels["service"] == service
    }


@asynccontextmanager
async def _producer(endpoints: Endpoints) -> AsyncIterator[AIOKafkaProducer]:
    """A plain client, as anyone who reaches the broker has one."""
    producer = AIOKafkaProducer(**endpoints.kafka_admin.aiokafka(), acks="all")
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()
