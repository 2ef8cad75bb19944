"""After a run, no raw person_id or case_number is anywhere but the upstream and rejected topics.

Scanned: amnesty.cases.v1 (the run's), amnesty.decisions.v1, every table of every schema (text and the
hex form bytea takes), and the service's logs.
"""

from __future__ import annotations

import random
from pathlib import Path

import asyncpg
import pytest

from amnesty_contracts import DECISIONS
from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.intake import encoded, intake_under_test, submission
from tests.support.kafka import read_all
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def _identifiers(n: int) -> tuple[list[str], list[str]]:
    rng = random.Random()
    persons = [f"{rng.randrange(10**9, 10**10)}" for _ in range(n)]
    cases = [f"{rng.randrange(10**16, 10**17)}" for _ in range(n)]
    return persons, cases


async def _tables_holding(pool: Pool, needles: list[str]) -> list[str]:
    tables = await pool.fetch(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
        "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
    )
    patterns = [f"%{n}%" for n in needles] + [f"%{n.encode().hex()}%" for n in needles]
    found = []
    for t in tables:
        name = f'"{t["table_schema"]}"."{t["table_name"]}"'
        try:
            holds = await pool.fetchval(
                f"SELECT EXISTS (SELECT 1 FROM {name} AS r WHERE r::text LIKE ANY($1::text[]))", patterns
            )
        except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
            continue  # another test's schema, dropped since the listing
        if holds:
            found.append(name)
    return found


async def test_raw_identifiers_stop_at_intake(endpoints: Endpoints, admin_pool: Pool, tmp_path: Path) -> None:
    persons, cases = _identifiers(60)
    submissions = [
        submission(person_id=p, case_number=c, submission_id=f"pii-{i}")
        for i, (p, c) in enumerate(zip(persons, cases, strict=True))
    ] + [
        submission("VoluntaryReturn", person_id=p, case_number=c)
        for p, c in zip(persons[:20], cases[:20], strict=True)
    ]
    conflicting = [
        submission(person_id=persons[0], case_number=cases[0], submission_id="pii-0", article="408")
    ]
    logs = tmp_path / "intake.log"
    async with intake_under_test(endpoints, admin_pool, logs) as intake:
        await intake.process.start()
        await intake.publish([encoded(s) for s in submissions + conflicting])
        await intake.consumed_everything()
        # Rejections wait in intake's outbox (raw bytes and all) until its relay has published them.
        outbox = f'SELECT count(*) FROM "{intake.schema}".outbox'
        await eventually(lambda: admin_pool.fetchval(outbox), lambda n: n == 0)
        await intake.process.stop()

        needles = persons + cases
        published = await read_all(intake.bootstrap, intake.cases)
        assert len(published) == len(submissions)
        leaks = [
            n for r in published for n in needles if n.encode() in r.value or n.encode() in (r.key or b"")
        ]
        assert leaks == [], "amnesty.cases.v1 carries raw identifiers"
        decisions = await read_all(intake.bootstrap, DECISIONS)
        assert not [n for r in decisions for n in needles if n.encode() in r.value]
        assert await _tables_holding(admin_pool, needles) == []
        log_text = logs.read_text()
        assert "submission" in log_text or "Uvicorn" in log_text, "the scan must read a real log"
        assert [n for n in needles if n in log_text] == []
        rejected = await read_all(intake.bootstrap, intake.rejected)
        assert len(rejected) == 1, "the rejected topic holds the original bytes, by design"
