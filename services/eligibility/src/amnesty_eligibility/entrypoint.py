"""The eligibility service's composition root: settings, pool, broker and HTTP wired here and nowhere else.

Applies the amnesty law to each voluntary return and publishes decisions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from amnesty_eligibility.settings import EligibilitySettings
from amnesty_runtime.logs import configure_logging
from amnesty_runtime.service import database_ready, kafka_ready, serve, service_app
from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import resolve

SERVICE = "eligibility"


def build_app(settings: EligibilitySettings, infra: InfraSettings) -> FastAPI:
    endpoints = resolve(infra)
    broker = KafkaBroker(endpoints.kafka_bootstrap_servers, client_id=f"amnesty-{SERVICE}")
    pools: list[asyncpg.Pool] = []

    async def ping_database() -> object:
        return await pools[0].fetchval("SELECT 1")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(endpoints.database_url(SERVICE), min_size=1, max_size=4)
        pools.append(pool)
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()
            await pool.close()

    return service_app(
        SERVICE, lifespan=lifespan, readiness=[database_ready(ping_database), kafka_ready(broker.ping)]
    )


def main() -> None:
    settings = EligibilitySettings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    serve(build_app(settings, InfraSettings()), settings.http_host, settings.http_port)
