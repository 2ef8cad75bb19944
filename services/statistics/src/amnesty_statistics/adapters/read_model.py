"""The read model in PostgreSQL: one version's tables, written a batch at a time.

Everything lives in the service's schema (`statistics` in production), the only one Grafana can read.

Stable names (what the API, the business gauges and Grafana query; they always show the active version):

``daily_stats`` (view) — one row per (metric, day, region, article, regime, reason):
    ``metric``   ``cases_opened``, ``voluntary_returns``, ``detained``, ``amnesties_granted``,
                 ``amnesties_denied``, ``pending``, ``revoked``, or ``open_cases_change``
    ``day``      the business date (the events' ``occurred_on``)
    ``region``   ISO 3166-2:UA code of the person's case (``unknown`` until a case is known, unless the
                 return named its own region)
    ``article``  ``407`` / ``408``: the case's article on ``day`` (``unknown`` until a case is known)
    ``regime``   for ``amnesties_granted`` and ``revoked``: the grant's regime; else ``''``
    ``reason``   for ``amnesties_denied``, ``pending``, ``revoked``: the reason code; else ``''``
    ``value``    the count on that day; for ``open_cases_change`` the day's change of the open cases
                 (cases open on day D = the sum of ``open_cases_change`` over days <= D). A value can be
                 0 when late events moved a figure elsewhere.
``totals`` (view) — the same summed over all days, by (metric, region, article, regime, reason): kept
    in the same transaction, so that all-time figures (the business gauges) need not scan every day.
``daily_figures`` (view) — ``daily_stats`` by (day, region, article), one column per metric.
``region_names`` — ``region`` code -> English ``name``.
``projection_versions`` — ``version``, ``status`` (``building`` / ``active`` / ``retired`` /
    ``dropped``) and when it changed; exactly one version is active.

Per version N (internal; read the views instead): ``daily_stats_vN`` and ``totals_vN`` (the tables
behind the views) and ``persons_vN`` (``person`` pseudonym -> the projection's JSON ``state``: the facts
the person's figures are computed from; not readable by Grafana). Each version's consumer group
``<group>-vN`` records its Kafka checkpoints in ``consumer_checkpoints`` of the same schema, written in
the same transaction as the tables; a message sent again at a new offset changes nothing, as the
persons' facts are keyed by event id.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from importlib.resources import files

from amnesty_eventstore import DbConnection, MigrationSource
from amnesty_eventstore.schemas import store_schema
from amnesty_statistics.adapters import person_states
from amnesty_statistics.domain.figures import Cell, Counts
from amnesty_statistics.domain.persons import PersonState

MIGRATIONS = MigrationSource("statistics", files("amnesty_statistics") / "migrations")
"""The projection_versions table, the functions that create, activate and drop versions, the views."""


class ReadModel:
    """Version ``version`` of the read model in ``schema``."""

    def __init__(self, schema: str, version: int) -> None:
        self._store = store_schema(schema)
        self.version = version

    def _sql(self, template: str) -> str:
        """``template`` with ``{name_vN}`` naming this version's table ``name``, schema-qualified."""
        return self._store.sql(template.replace("_vN}", f"_v{self.version}}}"))

    async def lock_persons(self, conn: DbConnection, persons: Sequence[str]) -> dict[str, PersonState]:
        """The states of those of ``persons`` already stored, locked until the transaction ends; a person
        missing from the answer is new to this version."""
        # Two consumers of the same person (the cases and the decisions partitions can be assigned to
        # different replicas) take turns on a stored person's row instead of losing an update: FOR UPDATE
        # waits for the other's commit and answers the state it committed. A lock writes no new row
        # version (an upsert that changes nothing would). Sorted, so two batches lock in the same order.
        # A new person has no row to lock yet: ``save`` inserts them and tells who was stored meanwhile.
        rows = await conn.fetch(
            self._sql(
                "SELECT person, state FROM {persons_vN} WHERE person = ANY($1::text[]) "
                "ORDER BY person FOR UPDATE"
            ),
            sorted(set(persons)),
        )
        return {r["person"]: person_states.decode(r["state"]) for r in rows}

    async def save(
        self,
        conn: DbConnection,
        states: Mapping[str, PersonState],
        deltas: Mapping[Cell, int],
        stored: Collection[str],
    ) -> list[str]:
        """Store the persons' ``states`` (those in ``stored`` have a row, locked by ``lock_persons``; the
        others are inserted) and add ``deltas`` to the daily table and the totals: one statement, one
        round trip per batch.

        Answers the new persons another transaction stored first, in no order (their rows are
        committed now, for ``lock_persons`` to lock); then nothing but the other new persons was
        written, and the batch must be folded again from the answered persons' stored states (the
        deltas assumed they started empty).

        Rows are written in key order, so that concurrent batches lock them in the same order.
        """
        if not states and not deltas:
            return []
        persons = sorted(p for p in states if p in stored)
        new = sorted(p for p in states if p not in stored)
        cells = sorted(deltas)
        raced: list[str] = await conn.fetchval(
            self._sql(
                # ON CONFLICT DO NOTHING waits for the other transaction's insert to commit; the row is
                # then this transaction's to lock, and nothing else may be written (``written``).
                "WITH new_persons AS (INSERT INTO {persons_vN} AS p (person, state) "
                "SELECT * FROM unnest($10::text[], $11::json[]) "
                "ON CONFLICT (person) DO NOTHING RETURNING person), "
                "written AS (SELECT count(*) = cardinality($10::text[]) AS ok FROM new_persons), "
                "persons AS (UPDATE {persons_vN} AS p SET state = u.state "
                "FROM unnest($8::text[], $9::json[]) AS u(person, state), written "
                "WHERE written.ok AND p.person = u.person), "
                "input AS (SELECT u.* FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], "
                "$5::text[], $6::text[], $7::bigint[]) "
                "AS u(metric, day, region, article, regime, reason, value), written WHERE written.ok), "
                "daily AS (INSERT INTO {daily_stats_vN} AS d "
                "(metric, day, region, article, regime, reason, value) "
                "SELECT metric, day, region, article, regime, reason, value FROM input "
                "ORDER BY metric, day, region, article, regime, reason "
                "ON CONFLICT (metric, day, region, article, regime, reason) "
                "DO UPDATE SET value = d.value + excluded.value), "
                "totals AS (INSERT INTO {totals_vN} AS t (metric, region, article, regime, reason, value) "
                "SELECT metric, region, article, regime, reason, sum(value) FROM input "
                "GROUP BY metric, region, article, regime, reason "
                "ORDER BY metric, region, article, regime, reason "
                "ON CONFLICT (metric, region, article, regime, reason) "
                "DO UPDATE SET value = t.value + excluded.value) "
                "SELECT array(SELECT unnest($10::text[]) EXCEPT SELECT person FROM new_persons)"
            ),
            [c.metric.value for c in cells],
            [c.day for c in cells],
            [c.region for c in cells],
            [c.article for c in cells],
            [c.regime for c in cells],
            [c.reason for c in cells],
            [deltas[c] for c in cells],
            persons,
            [person_states.encode(states[p]) for p in persons],
            new,
            [person_states.encode(states[p]) for p in new],
        )
        return raced

    async def write_rebuilt(
        self, conn: DbConnection, persons: Iterable[tuple[str, str]], figures: Counts
    ) -> None:
        """Fill this version, new and empty, in bulk (in ``conn``'s transaction): the persons (with their
        states encoded by ``person_states.encode``) and the daily table by binary COPY, the totals summed
        from the daily table by one statement."""
        schema = self._store.name
        await conn.copy_records_to_table(
            f"persons_v{self.version}", schema_name=schema, columns=("person", "state"), records=persons
        )
        await conn.copy_records_to_table(
            f"daily_stats_v{self.version}",
            schema_name=schema,
            columns=("metric", "day", "region", "article", "regime", "reason", "value"),
            records=(
                (c.metric.value, c.day, c.region, c.article, c.regime, c.reason, n)
                for c, n in figures.items()
            ),
        )
        await conn.execute(
            self._sql(
                "INSERT INTO {totals_vN} (metric, region, article, regime, reason, value) "
                "SELECT metric, region, article, regime, reason, sum(value) FROM {daily_stats_vN} "
                "GROUP BY metric, region, article, regime, reason"
            )
        )
