"""The Kafka door: batches of amnesty.cases.v1 and amnesty.decisions.v1 into a version of the read model.

`LiveProjection` is what the service runs: it consumes into the active version and, when a rebuild
has made another version active, moves to that version's consumer group (whose checkpoints are where
the rebuild stopped) and later drops the retired version. `rebuild` builds a new version from the
beginning of the topics beside the live one and switches the views to it once it has caught up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass

import structlog
from faststream.kafka import KafkaBroker

from amnesty_eventstore import EVENTSTORE_MIGRATIONS, Pool, migrate
from amnesty_eventstore.collector import collector_paused
from amnesty_eventstore.consumption import CheckpointedConsumer, Delivery
from amnesty_eventstore.kafka_batches import BatchPipeline
from amnesty_eventstore.pauses import pause
from amnesty_eventstore.schemas import store_schema
from amnesty_eventstore.signatures import Verifier
from amnesty_runtime.brokers import kafka_broker
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.policy import Policy
from amnesty_runtime.processing import policy_consumer, subscribe_policy
from amnesty_runtime.provenance import Verified
from amnesty_statistics.adapters.fold_processes import FoldProcesses
from amnesty_statistics.adapters.read_model import MIGRATIONS, ReadModel
from amnesty_statistics.adapters.topic_ends import TopicEnds
from amnesty_statistics.adapters.topic_reader import read_to_ends
from amnesty_statistics.adapters.versions import ProjectionVersions, version_group
from amnesty_statistics.domain.lag import TopicPartition
from amnesty_statistics.service_layer.projecting import Projection
from amnesty_statistics.service_layer.rebuilding import RebuildProgress
from amnesty_statistics.settings import StatisticsSettings

log = structlog.get_logger(__name__)


def projection_of(settings: StatisticsSettings, version: int) -> Projection:
    """The policy that feeds version ``version`` of the read model."""
    return Projection(
        ReadModel(settings.schema_name, version), settings.cases_topic, settings.decisions_topic
    )


def producers_of(settings: StatisticsSettings) -> dict[str, str]:
    """Whose events statistics accepts on each of its topics (docs/contract.md, Topics)."""
    return {settings.cases_topic: "intake", settings.decisions_topic: "eligibility"}


def policy_of(settings: StatisticsSettings, version: int, verifier: Verifier | None) -> Policy:
    """The projection into ``version``, behind the provenance check when ``verifier`` is given."""
    projection = projection_of(settings, version)
    return (
        projection
        if verifier is None
        else Verified(projection, verifier, settings.schema_name, settings.rejected_topic)
    )


def projection_consumer(
    pool: Pool, settings: StatisticsSettings, version: int, verifier: Verifier | None = None
) -> CheckpointedConsumer:
    """The consumer that feeds version ``version`` (its group's checkpoints are that version's)."""
    return policy_consumer(
        pool,
        settings.schema_name,
        version_group(settings.consumer_group, version),
        policy_of(settings, version, verifier),
    )


class LiveProjection:
    """The projection the service runs, following the active version."""

    def __init__(
        self, pool: Pool, broker: KafkaBroker, settings: StatisticsSettings, verifier: Verifier
    ) -> None:
        self._pool = pool
        self._broker = broker
        self._settings = settings
        self._verifier = verifier
        self._versions = ProjectionVersions(settings.schema_name)
        self._pipeline: BatchPipeline | None = None
        self._consumer: CheckpointedConsumer | None = None
        self.version = 0

    @property
    def pipelines(self) -> list[BatchPipeline]:
        """The pipeline consuming into the active version (none before the projection starts)."""
        return [self._pipeline] if self._pipeline is not None else []

    async def stored_checkpoints(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """Where the version consumed now stands (after a switch: the new one)."""
        assert self._consumer is not None, "the projection is not started"
        return await self._consumer.stored_checkpoints(partitions)

    async def follow_active(self, stop: asyncio.Event | None = None) -> None:
        """Consume into the active version (moving there if it changed); drop versions retired long ago.

        A move that ``stop`` catches half way (set while the old version's consumer stopped) starts no
        new consumer: it would join its group only to be stopped at once.
        """
        active = await self._versions.active(self._pool)
        if active != self.version:
            await self._move_to(active, stop)
            if stop is not None and stop.is_set():
                return
        grace = self._settings.retired_grace_s
        for version in await self._versions.with_status(self._pool, "retired", older_than_s=grace):
            async with self._pool.acquire() as conn:
                await self._versions.drop(
                    conn, version, version_group(self._settings.consumer_group, version)
                )
            log.info("retired read model version dropped", version=version)

    async def run(self, stop: asyncio.Event) -> None:
        """Check the active version every few seconds, until ``stop`` is set.

        Ended by ``stop``, never cancelled: cancelled while a switch of version stopped the old
        consumer, the cancellation was swallowed (aiokafka's fetcher awaits its own task under
        ``suppress(CancelledError)``), the loop went on and started the new version's consumer, and the
        service never stopped. A switch in progress now ends first.
        """
        while True:
            if await pause(stop, self._settings.version_poll_s):
                return
            try:
                await self.follow_active(stop)
            except Exception:  # the next check tries again; consumption goes on meanwhile
                log.exception("checking the active read model version failed")

    async def stop(self) -> None:
        if self._pipeline is not None:
            await self._pipeline.stop()

    async def _move_to(self, version: int, stop: asyncio.Event | None = None) -> None:
        consumer = projection_consumer(self._pool, self._settings, version, self._verifier)
        # Not persistent: this object starts and stops it, and a retired version's subscriber must not
        # come back if the broker is ever restarted.
        pipeline = subscribe_policy(
            self._broker,
            consumer,
            policy_of(self._settings, version, self._verifier),
            *self._settings.topics,
            max_records=self._settings.batch_max_records,
            persistent=False,
            membership=self._settings.membership,
            fetching=self._settings.fetching,
        )
        await self.stop()
        if stop is not None and stop.is_set():
            return
        await pipeline.subscriber.start()
        previous, self.version = self.version, version
        self._pipeline, self._consumer = pipeline, consumer
        log.info(
            "projecting into read model version", version=version, previous=previous, group=consumer.group
        )


@dataclass(frozen=True, slots=True)
class RebuildReport:
    version: int
    previous: int
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class RebuildInProgressError(RuntimeError):
    """Another rebuild of the same schema holds the lock."""


class _Silent:
    def note(self, message: str) -> None:
        return None

    def advance(self, done: int, total: int) -> None:
        return None


async def rebuild(
    pool: Pool,
    kafka: KafkaClientOptions,
    settings: StatisticsSettings,
    progress: RebuildProgress | None = None,
    verifier: Verifier | None = None,
) -> RebuildReport:
    """Build a new version from the beginning of the topics; make it active once it has caught up.

    The topics are read up to their end offsets at the start and folded in memory, the version is
    written in bulk with its checkpoints, then it catches up with what arrived meanwhile through the
    ordinary consumer, and the views switch to it. A version left half-built by an interrupted rebuild
    is dropped first: a rebuild always starts from the beginning, with the code that runs it.
    With ``verifier`` (the service's, as `amnesty rebuild statistics` gives it) events of unproven
    provenance are left out as the live projection leaves them out (their dead letters are its).
    """
    report = progress or _Silent()
    schema = settings.schema_name
    versions = ProjectionVersions(schema)
    await migrate(pool, schema, [EVENTSTORE_MIGRATIONS, MIGRATIONS])
    async with _rebuild_lock(pool, schema):
        for stale in await versions.with_status(pool, "building"):
            async with pool.acquire() as conn:
                await versions.drop(conn, stale, version_group(settings.consumer_group, stale))
            report.note(f"dropped version {stale}, left half-built by an earlier rebuild")
        previous = await versions.active(pool)
        async with pool.acquire() as conn:
            version = await versions.create(conn)
        report.note(f"building version {version} beside version {previous}")
        consumer = projection_consumer(pool, settings, version, verifier)
        started = time.monotonic()
        ends = TopicEnds(kafka, settings.topics, f"amnesty-statistics-rebuild-{consumer.group}")
        await ends.start()
        try:
            target = await ends()
            building = _Building(pool, consumer, version, kafka, settings, report, verifier)
            await building.fold_from_the_beginning(target)
            if await ends() != target:  # events arrived meanwhile: the ordinary consumer takes them in
                target = await building.consume_to_the_end(ends)
        finally:
            await ends.stop()
        seconds = time.monotonic() - started
        async with pool.acquire() as conn, conn.transaction():
            await versions.activate(conn, version)
        report.note(f"version {version} is active; version {previous} is retired")
        return RebuildReport(version, previous, sum(target.values()), seconds)


@dataclass(frozen=True, slots=True)
class _Building:
    """A version being built by a rebuild: in memory up to a target, then by its consumer."""

    pool: Pool
    consumer: CheckpointedConsumer
    version: int
    kafka: KafkaClientOptions
    settings: StatisticsSettings
    report: RebuildProgress
    verifier: Verifier | None = None

    @property
    def client_id(self) -> str:
        return f"amnesty-statistics-rebuild-{self.consumer.group}"

    async def fold_from_the_beginning(self, target: Mapping[TopicPartition, int]) -> None:
        """Fold the topics up to ``target`` in memory, over worker processes; write the version and its
        checkpoints in one transaction."""
        total, done = sum(target.values()), 0
        projection = projection_of(self.settings, self.version)
        self.report.advance(0, total)
        with (
            collector_paused(),
            FoldProcesses(self.settings.rebuild_workers, self.settings.decisions_topic) as folds,
        ):
            async for batch in read_to_ends(
                self.kafka,
                target,
                client_id=self.client_id,
                max_records=self.settings.rebuild_batch_max_records,
            ):
                await folds.take(self._genuine(batch))
                done += len(batch)
                self.report.advance(done, total)
            folded = await folds.finish()
            for reason, n in folded.skipped.items():
                log.warning("messages skipped by the rebuild", reason=reason, messages=n)
            persons = len(folded.persons)
            self.report.note(
                f"folded {done:,} messages into {persons:,} persons; writing version {self.version}"
            )
            async with self.pool.acquire() as conn, conn.transaction():
                await projection.read_model.write_rebuilt(conn, folded.persons, folded.figures)
                await self.consumer.set_checkpoints(conn, target)

    def _genuine(self, batch: list[Delivery]) -> list[Delivery]:
        if self.verifier is None:
            return batch
        check = self.verifier.check
        return [d for d in batch if check(d.topic, d.key, d.value, d.headers) is None]

    async def consume_to_the_end(self, ends: TopicEnds) -> dict[TopicPartition, int]:
        """Consume until the checkpoints reach the topics' end offsets; again while that took long
        (events kept arriving), so that the switch leaves the service little to catch up. Returns the
        end offsets it last reached."""
        broker = kafka_broker(self.kafka, self.client_id)
        pipeline = subscribe_policy(
            broker,
            self.consumer,
            policy_of(self.settings, self.version, self.verifier),
            *self.settings.topics,
            max_records=self.settings.rebuild_batch_max_records,
        )
        try:
            async with broker:
                await broker.start()
                for _ in range(5):
                    target = await ends()
                    started = time.monotonic()
                    await _wait_until_reached(self.consumer, target, self.report)
                    if time.monotonic() - started < 1.0:
                        break
                return target
        finally:
            # The broker has stopped: the batch in flight, if any, ends here, without a failed
            # batch's pause before it would come again.
            pipeline.stopping()
            await pipeline.stopped()


@contextlib.asynccontextmanager
async def _rebuild_lock(pool: Pool, schema: str) -> AsyncIterator[None]:
    key = ("amnesty_statistics.rebuild", store_schema(schema).name)
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1), hashtext($2))", *key):
            raise RebuildInProgressError(f"another rebuild of schema {schema} is running")
        try:
            yield
        finally:
            try:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1), hashtext($2))", *key)
            except BaseException:
                conn.terminate()  # back in the pool (no reset) it would keep the lock: closed, it lets go
                raise


async def _wait_until_reached(
    consumer: CheckpointedConsumer, target: Mapping[TopicPartition, int], progress: RebuildProgress
) -> None:
    total = sum(target.values())
    reported = time.monotonic()
    while True:
        applied = await consumer.stored_checkpoints(target)
        if all(applied.get(tp, 0) >= offset for tp, offset in target.items()):
            return
        if time.monotonic() - reported >= 5.0:
            reported = time.monotonic()
            done = sum(min(applied.get(tp, 0), offset) for tp, offset in target.items())
            progress.note(f"catching up: {done:,} of {total:,} messages applied")
        await asyncio.sleep(0.1)
