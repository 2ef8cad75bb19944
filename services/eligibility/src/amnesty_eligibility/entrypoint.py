"""The eligibility service's composition root: settings, rule set, store, consumer and HTTP wired here.

Applies the amnesty law in force to each return in amnesty.cases.v1 and publishes decisions to
amnesty.decisions.v1 through the outbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from amnesty_contracts import new_event_id
from amnesty_eligibility.adapters.person_streams import PostgresPersonStore
from amnesty_eligibility.adapters.rule_files import load_rule_set
from amnesty_eligibility.entrypoints.cases_consumer import subscribe_cases
from amnesty_eligibility.service_layer.handlers import SERVICE, Eligibility
from amnesty_eligibility.service_layer.person_cache import PersonCache
from amnesty_eligibility.settings import EligibilitySettings
from amnesty_eventstore import Pool
from amnesty_eventstore.kafka_batches import BatchPipeline
from amnesty_eventstore.signatures import Verifier
from amnesty_runtime.http_server import serve
from amnesty_runtime.lifecycle import running
from amnesty_runtime.logs import configure_service_logging
from amnesty_runtime.provenance import Verified, signer_of, verifier_of
from amnesty_runtime.service import ReadinessCheck, service_app
from amnesty_runtime.settings import settings_or_exit
from amnesty_runtime.stack import resolve

log = structlog.get_logger(__name__)


def build_app(settings: EligibilitySettings) -> FastAPI:
    endpoints = resolve(settings.infra)
    # Read at start: a missing or invalid rule set stops the service before it consumes anything.
    rules = load_rule_set(settings.rule_set, settings.rules_file)
    eligibility = Eligibility(
        schema=settings.schema_name,
        rules=rules,
        store=lambda conn: PostgresPersonStore(
            conn, settings.schema_name, settings.rejected_topic, new_event_id
        ),
        decisions_topic=settings.decisions_topic,
        cache=PersonCache(settings.person_cache_size),
    )
    readiness: list[ReadinessCheck] = []

    def subscribe(broker: KafkaBroker, pool: Pool, verifier: Verifier) -> list[BatchPipeline]:
        return [
            subscribe_cases(
                broker,
                pool,
                Verified(eligibility, verifier, settings.schema_name, settings.rejected_topic),
                group=settings.consumer_group,
                topic=settings.cases_topic,
                max_records=settings.batch_max_records,
                membership=settings.membership,
                fetching=settings.fetching,
            )
        ]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Read at start: without its keys the service refuses to start, before it consumes anything.
        signer = signer_of(SERVICE, settings)
        verifier = verifier_of(SERVICE, settings, {settings.cases_topic: "intake"})
        async with running(
            SERVICE,
            endpoints,
            subscribe=lambda broker, pool: subscribe(broker, pool, verifier),
            signer=signer,
            schema=settings.schema_name,
        ) as run:
            readiness[:] = run.readiness()
            log.info("deciding", rule_set=rules.version, regimes=[r.id for r in rules.regimes])
            yield

    return service_app(SERVICE, lifespan=lifespan, readiness=readiness)


def main() -> None:
    settings = settings_or_exit(EligibilitySettings)
    configure_service_logging(SERVICE, settings)
    serve(build_app(settings), settings.http_host, settings.http_port, settings.server_limits())
