"""The read model in PostgreSQL: batches applied with their checkpoints, versions created and switched."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest

from amnesty_contracts import Event
from amnesty_eventstore import EVENTSTORE_MIGRATIONS, DbConnection, MigrationSource, Pool, migrate
from amnesty_eventstore.consumption import CheckpointedConsumer, Delivery
from amnesty_eventstore.outbox_relay import EVENT_ID_HEADER
from amnesty_runtime.processing import policy_consumer
from amnesty_statistics.adapters.read_model import MIGRATIONS, ReadModel
from amnesty_statistics.adapters.stats_queries import StatsQueries
from amnesty_statistics.adapters.versions import ProjectionVersions
from amnesty_statistics.domain.persons import PersonState
from amnesty_statistics.domain.queries import Filters
from amnesty_statistics.service_layer.projecting import Projection
from tests.support.domain_events import EventFactory, encoded

pytestmark = pytest.mark.integration

CASES, DECISIONS = "cases", "decisions"


@pytest.fixture
async def schema(admin_pool: Pool, fresh_schema: str) -> str:
    await migrate(admin_pool, fresh_schema, [EVENTSTORE_MIGRATIONS, MIGRATIONS])
    return fresh_schema


def deliveries(events: Sequence[Event], start: int = 0) -> list[Delivery]:
    return [
        Delivery(
            DECISIONS if e.type.startswith(("Amnesty", "Eligibility")) else CASES,
            0,
            start + i,
            e.person.encode(),
            encoded(e),
            headers=((EVENT_ID_HEADER, str(e.event_id).encode()),),
        )
        for i, e in enumerate(events)
    ]


def consumer(pool: Pool, schema: str, version: int = 1) -> CheckpointedConsumer:
    projection = Projection(ReadModel(schema, version), CASES, DECISIONS)
    return policy_consumer(pool, schema, f"statistics-v{version}", projection)


async def test_a_late_case_moves_its_return_and_a_later_decision_supersedes_the_pending(
    admin_pool: Pool, schema: str
) -> None:
    f = EventFactory()
    queries = StatsQueries(admin_pool, schema)
    ret = f.voluntary_return("p", "2025-01-03", region="UA-30")
    early = [ret, f.pending(ret)]
    late = [f.case_opened("p", "c", "2024-12-28", region="UA-12", article="408"), f.granted(ret, "window-2")]
    projector = consumer(admin_pool, schema)

    await projector.apply(deliveries(early))
    before = await queries.summary(Filters(region="UA-30"))
    assert (before.voluntary_returns, before.pending) == (1, 1)
    await projector.apply(deliveries(early))  # the same batch again: nothing changes
    assert await queries.summary(Filters(region="UA-30")) == before

    await projector.apply(deliveries(late, start=len(early)))
    assert (await queries.summary(Filters(region="UA-30"))).voluntary_returns == 0
    after = await queries.summary(Filters(region="UA-12", article="408"))
    assert (after.voluntary_returns, after.pending, after.amnesties_granted_by_regime) == (
        1,
        0,
        {"window-2": 1},
    )
    assert (after.cases_opened, after.open_cases) == (1, 0)


async def test_two_consumers_of_one_person_take_turns(admin_pool: Pool, schema: str) -> None:
    """The cases and the decisions of a person may be consumed by two replicas at once."""
    f = EventFactory()
    per_person = []
    for n in range(40):
        ret = f.voluntary_return(f"p{n}", "2025-02-03")
        per_person.append((f.case_opened(f"p{n}", f"c{n}", "2025-01-10"), ret, f.granted(ret)))
    batches = [deliveries([opened, ret]) for opened, ret, _ in per_person]
    batches += [deliveries([grant]) for _, _, grant in per_person]
    projection = Projection(ReadModel(schema, 1), CASES, DECISIONS)

    async def apply(batch: list[Delivery]) -> None:
        async with admin_pool.acquire() as conn, conn.transaction():
            await projection.prepare(batch)(conn, batch)

    await asyncio.gather(*(apply(batch) for batch in batches))
    # A lost update would leave a grant under an unknown region: counted from a state without the case.
    summary = await StatsQueries(admin_pool, schema).summary(Filters(region="UA-48", article="407"))
    assert (summary.cases_opened, summary.voluntary_returns, summary.amnesties_granted) == (40, 40, 40)
    assert summary.open_cases == 0


class ReadModelRacedOnce(ReadModel):
    """A read model whose first lock lets ``other`` run to its commit before answering: another consumer
    stores a person this batch reads as new."""

    def __init__(self, schema: str, other: Callable[[], Awaitable[None]]) -> None:
        super().__init__(schema, 1)
        self._other: Callable[[], Awaitable[None]] | None = other

    async def lock_persons(self, conn: DbConnection, persons: Sequence[str]) -> dict[str, PersonState]:
        states = await super().lock_persons(conn, persons)
        if self._other is not None:
            other, self._other = self._other, None
            await other()
        return states


async def test_a_new_person_stored_meanwhile_by_another_consumer_is_folded_again(
    admin_pool: Pool, schema: str
) -> None:
    f = EventFactory()
    ret = f.voluntary_return("p", "2025-02-03")
    opened = f.case_opened("p", "c", "2025-01-10", region="UA-12", article="408")
    fresh = f.case_opened("q", "d", "2025-01-11", region="UA-12", article="408")
    other = Projection(ReadModel(schema, 1), CASES, DECISIONS)

    async def other_consumer_stores_p() -> None:
        batch = deliveries([opened, ret])
        async with admin_pool.acquire() as conn, conn.transaction():
            await other.prepare(batch)(conn, batch)

    raced = Projection(ReadModelRacedOnce(schema, other_consumer_stores_p), CASES, DECISIONS)
    batch = deliveries([f.granted(ret, "window-2"), fresh], start=10)
    async with admin_pool.acquire() as conn, conn.transaction():
        await raced.prepare(batch)(conn, batch)

    # Folded from an empty state, the grant would count under an unknown region and article, and the
    # other consumer's state of p would be lost.
    summary = await StatsQueries(admin_pool, schema).summary(Filters(region="UA-12", article="408"))
    assert (summary.cases_opened, summary.voluntary_returns) == (2, 1)
    assert summary.amnesties_granted_by_regime == {"window-2": 1}
    assert (await StatsQueries(admin_pool, schema).summary(Filters())).amnesties_granted == 1
    states = {r["person"] for r in await admin_pool.fetch(f'SELECT person FROM "{schema}".persons_v1')}
    assert states == {"p", "q"}


async def test_a_new_version_is_built_beside_the_active_one_and_replaces_it(
    admin_pool: Pool, schema: str
) -> None:
    versions = ProjectionVersions(schema)
    f = EventFactory()
    queries = StatsQueries(admin_pool, schema)
    await consumer(admin_pool, schema, 1).apply(deliveries([f.case_opened("p", "c", "2025-01-10")]))
    assert await versions.active(admin_pool) == 1

    async with admin_pool.acquire() as conn:
        version = await versions.create(conn)
    assert version == 2
    rebuilt = consumer(admin_pool, schema, 2)
    await rebuilt.apply(
        deliveries([f.case_opened("p", "c", "2025-01-10"), f.case_opened("q", "d", "2025-01-11")])
    )
    assert (await queries.summary(Filters())).cases_opened == 1, "the views show the active version"

    async with admin_pool.acquire() as conn, conn.transaction():
        await versions.activate(conn, version)
    assert (await queries.summary(Filters())).cases_opened == 2
    assert await versions.with_status(admin_pool, "retired") == [1]

    async with admin_pool.acquire() as conn:
        await versions.drop(conn, 1, "statistics-v1")
    tables = {
        r[0]
        for r in await admin_pool.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
        )
    }
    assert not {"daily_stats_v1", "totals_v1", "persons_v1"} & tables
    assert {"daily_stats_v2", "totals_v2", "persons_v2", "daily_stats", "totals", "daily_figures"} <= tables
    assert await consumer(admin_pool, schema, 1).stored_checkpoints([(CASES, 0)]) == {}
    assert await rebuilt.stored_checkpoints([(CASES, 0)]) == {(CASES, 0): 2}
    with pytest.raises(Exception, match="is active"):
        async with admin_pool.acquire() as conn:
            await versions.drop(conn, 2, "statistics-v2")


async def test_daily_figures_has_a_column_per_metric(admin_pool: Pool, schema: str) -> None:
    f = EventFactory()
    await consumer(admin_pool, schema).apply(
        deliveries(
            [f.case_opened("p", "c", "2025-01-10", region="UA-48"), f.voluntary_return("p", "2025-01-10")]
        )
    )
    row = await admin_pool.fetchrow(f'SELECT * FROM "{schema}".daily_figures')
    assert row is not None
    assert dict(row) | {"day": None} == {
        "day": None,
        "region": "UA-48",
        "article": "407",
        "cases_opened": 1,
        "voluntary_returns": 1,
        "detained": 0,
        "amnesties_granted": 0,
        "amnesties_denied": 0,
        "pending": 0,
        "revoked": 0,
        "open_cases_change": 0,
    }


async def _state_type(pool: Pool, schema: str, version: int) -> str:
    data_type: str = await pool.fetchval(
        "SELECT data_type FROM information_schema.columns "
        "WHERE table_schema = $1 AND table_name = $2 AND column_name = 'state'",
        schema,
        f"persons_v{version}",
    )
    return data_type


async def test_the_persons_states_are_kept_as_json_in_every_version(
    admin_pool: Pool, fresh_schema: str, tmp_path: Path
) -> None:
    """Migration 0004: version 1 (created by 0001 as jsonb, with a person in it) rewritten as json and
    still read as before; a version created afterwards made so."""
    for migration in MIGRATIONS.migrations():
        if migration.name < "0004":
            (tmp_path / migration.name).write_text(migration.sql, encoding="utf-8")
    await migrate(admin_pool, fresh_schema, [EVENTSTORE_MIGRATIONS, MigrationSource("statistics", tmp_path)])
    f = EventFactory()
    await consumer(admin_pool, fresh_schema).apply(deliveries([f.case_opened("p", "c", "2025-01-10")]))
    assert await _state_type(admin_pool, fresh_schema, 1) == "jsonb"
    async with admin_pool.acquire() as conn:
        before = await ReadModel(fresh_schema, 1).lock_persons(conn, ["p"])

    await migrate(admin_pool, fresh_schema, [EVENTSTORE_MIGRATIONS, MIGRATIONS])
    async with admin_pool.acquire() as conn:
        assert await ReadModel(fresh_schema, 1).lock_persons(conn, ["p"]) == before
        version = await ProjectionVersions(fresh_schema).create(conn)
    assert await _state_type(admin_pool, fresh_schema, 1) == "json"
    assert await _state_type(admin_pool, fresh_schema, version) == "json"
    await consumer(admin_pool, fresh_schema).apply(
        deliveries([f.voluntary_return("p", "2025-01-20")], start=1)
    )
    async with admin_pool.acquire() as conn:
        after = await ReadModel(fresh_schema, 1).lock_persons(conn, ["p"])
    assert len(after["p"].endings) == 1
