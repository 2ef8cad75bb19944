"""The intake service's composition root: settings, secrets, store, doors (Kafka and HTTP) wired here.

Validates upstream submissions, pseudonymizes them, drops duplicates, records case events and publishes
them through the outbox; rejects the rest to the dead-letter topic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.resources import files

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from amnesty_eventstore import DbConnection, GroupCommit, MigrationSource, Pool
from amnesty_eventstore.kafka_batches import BatchPipeline
from amnesty_intake.adapters.intake_store import PostgresIntakeStore
from amnesty_intake.adapters.secrets import pseudonym_key, source_tokens
from amnesty_intake.domain.pseudonyms import Pseudonymizer
from amnesty_intake.entrypoints.contract_docs import contract_router
from amnesty_intake.entrypoints.http import HttpAdmissions, submissions_router
from amnesty_intake.entrypoints.upstream_consumer import subscribe_upstream
from amnesty_intake.service_layer.admission import SERVICE, Admission, Outcome, Screened
from amnesty_intake.settings import IntakeSettings
from amnesty_runtime.http_server import serve
from amnesty_runtime.lifecycle import Running, running
from amnesty_runtime.logs import configure_service_logging
from amnesty_runtime.provenance import signer_of
from amnesty_runtime.service import ReadinessCheck, service_app
from amnesty_runtime.settings import settings_or_exit
from amnesty_runtime.stack import resolve

MIGRATIONS = MigrationSource(SERVICE, files("amnesty_intake") / "migrations")


@dataclass
class _Started:
    """What exists only while the app runs, for the routes and readiness checks to reach."""

    admission: Admission | None = None
    http_admissions: HttpAdmissions | None = None
    running: Running | None = None
    readiness: list[ReadinessCheck] = field(default_factory=list)

    def the_http_admissions(self) -> HttpAdmissions:
        assert self.http_admissions is not None, "the service is not started"
        return self.http_admissions

    def the_admission(self) -> Admission:
        assert self.admission is not None, "the service is not started"
        return self.admission


def build_app(settings: IntakeSettings) -> FastAPI:
    endpoints = resolve(settings.infra)
    pseudonyms = Pseudonymizer(pseudonym_key(settings, settings.infra.local))
    tokens = source_tokens(settings, settings.infra.local)
    started = _Started()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        started.admission = Admission(
            pseudonyms=pseudonyms,
            store=lambda conn: PostgresIntakeStore(conn, settings.schema_name, settings.rejected_topic),
            cases_topic=settings.cases_topic,
        )

        def subscribe(broker: KafkaBroker, pool: Pool) -> list[BatchPipeline]:
            return [
                subscribe_upstream(
                    broker,
                    pool,
                    started.the_admission(),
                    schema=settings.schema_name,
                    group=settings.consumer_group,
                    topic=settings.upstream_topic,
                    max_records=settings.batch_max_records,
                    membership=settings.membership,
                    fetching=settings.fetching,
                )
            ]

        async with running(
            SERVICE,
            endpoints,
            migrations=[MIGRATIONS],
            subscribe=subscribe,
            signer=signer_of(SERVICE, settings),
            schema=settings.schema_name,
        ) as run:
            started.running = run
            started.readiness[:] = run.readiness()
            admission = started.the_admission()

            async def record(conn: DbConnection, items: Sequence[Screened]) -> list[Outcome]:
                return await admission.record(admission.store_on(conn), items)

            # Upstream systems post one submission at a time, concurrently: their submissions, screened
            # in a worker thread, are recorded in a shared transaction (one commit, one round trip of
            # each statement) instead of one each.
            async with GroupCommit(run.pool, record, name="intake-http") as started.http_admissions:
                yield

    app = service_app(SERVICE, lifespan=lifespan, readiness=started.readiness)
    app.include_router(
        submissions_router(
            started.the_admission, started.the_http_admissions, tokens, body_timeout_s=settings.body_seconds
        )
    )
    app.include_router(contract_router(endpoints.kafka_client_options(SERVICE)))
    return app


def main() -> None:
    settings = settings_or_exit(IntakeSettings)
    configure_service_logging(SERVICE, settings)
    serve(build_app(settings), settings.http_host, settings.http_port, settings.server_limits())
