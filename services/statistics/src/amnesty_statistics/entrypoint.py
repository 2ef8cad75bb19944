"""The statistics service's composition root: settings, pool, projection, metrics and HTTP wired here.

Projects case events and decisions into read models by business date, region and article (effectively
once: each batch with its checkpoints in one transaction), and serves them: the HTTP API, the business
gauges on /metrics, and the views Grafana reads. Publishes only the dead letters of events whose
producer is not proven (``amnesty_runtime.provenance``), through its outbox relay.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response
from prometheus_client import REGISTRY

from amnesty_eventstore import create_pool
from amnesty_runtime.http_server import serve
from amnesty_runtime.lifecycle import running
from amnesty_runtime.logs import configure_service_logging
from amnesty_runtime.processing import watch_consumer_lag
from amnesty_runtime.provenance import signer_of, verifier_of
from amnesty_runtime.service import ReadinessCheck, service_app
from amnesty_runtime.settings import settings_or_exit
from amnesty_runtime.stack import resolve
from amnesty_statistics.adapters.read_model import MIGRATIONS
from amnesty_statistics.adapters.stats_queries import StatsQueries, save_region_names
from amnesty_statistics.adapters.topic_ends import TopicEnds
from amnesty_statistics.entrypoints.client_watch import ClientGoneError
from amnesty_statistics.entrypoints.http import stats_router
from amnesty_statistics.entrypoints.live_page import change_feed, mount_live_page
from amnesty_statistics.entrypoints.metrics import BusinessFigures, LagMonitor, refresh_figures
from amnesty_statistics.entrypoints.projection import LiveProjection, producers_of
from amnesty_statistics.service_layer.live_updates import ChangeFeed
from amnesty_statistics.service_layer.projecting import SERVICE
from amnesty_statistics.settings import StatisticsSettings

API_APPLICATION_NAME = "amnesty-statistics-api"
"""The API pool's sessions, as pg_stat_activity names them."""


@dataclass
class _Started:
    """What exists only while the app runs, for the routes and readiness checks to reach."""

    queries: StatsQueries | None = None
    feed: ChangeFeed | None = None
    readiness: list[ReadinessCheck] = field(default_factory=list)

    def the_queries(self) -> StatsQueries:
        assert self.queries is not None, "the service is not started"
        return self.queries

    def the_feed(self) -> ChangeFeed:
        assert self.feed is not None, "the service is not started"
        return self.feed


def build_app(settings: StatisticsSettings) -> FastAPI:
    endpoints = resolve(settings.infra)
    started = _Started()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Read at start: without its keys the service refuses to start, before it consumes anything.
        signer = signer_of(SERVICE, settings)
        verifier = verifier_of(SERVICE, settings, producers_of(settings))
        async with (
            running(
                SERVICE, endpoints, migrations=[MIGRATIONS], signer=signer, schema=settings.schema_name
            ) as run,
            # Each part's way out registered as soon as the part exists, so that a start that fails
            # half way (the lag reader's broker connection, the API's pool) ends what it had started,
            # in the reverse order. The projection's loop starts last: left running, it would keep
            # the process alive.
            contextlib.AsyncExitStack() as parts,
        ):
            await save_region_names(run.pool, settings.schema_name)
            queries = StatsQueries(run.pool, settings.schema_name)
            figures = BusinessFigures()
            figures.update(await queries.totals())  # before the first scrape: never an empty gauge set
            projection = LiveProjection(run.pool, run.broker, settings, verifier)
            parts.push_async_callback(projection.stop)
            await projection.follow_active()
            ends = TopicEnds(
                endpoints.kafka_client_options(SERVICE),
                settings.topics,
                f"amnesty-{settings.consumer_group}-lag",
            )
            await ends.start()
            parts.push_async_callback(ends.stop)
            monitor = LagMonitor(
                ends,
                projection.stored_checkpoints,
                interval_s=settings.lag_interval_s,
                bound_s=settings.ready_max_lag_s,
            )
            with contextlib.suppress(Exception):  # measured again every second by the monitor's task
                await monitor.measure()
            REGISTRY.register(figures)
            parts.callback(REGISTRY.unregister, figures)
            # The API has its own small pool with a short statement timeout: however many slow or
            # abandoned API requests there are, the projection's pool stays the projection's.
            api_pool = await create_pool(
                endpoints.database_url(SERVICE),
                min_size=1,
                max_size=settings.api_pool_size,
                statement_timeout_s=settings.api_statement_timeout_s,
                application_name=API_APPLICATION_NAME,
            )
            parts.push_async_callback(api_pool.close)
            started.feed = change_feed(run.pool, settings, queries)
            for job in (
                monitor.run(),
                refresh_figures(figures, queries, settings.figures_refresh_s),
                started.feed.run(),
                watch_consumer_lag(SERVICE, lambda: projection.pipelines),
            ):
                parts.push_async_callback(_cancelled, asyncio.create_task(job))
            stop = asyncio.Event()
            projecting = asyncio.create_task(projection.run(stop))
            # Ends itself, a switch of version in progress first (see LiveProjection.run); before the
            # other tasks are cancelled and before the consumer it feeds stops.
            parts.push_async_callback(_ended, projecting, stop)
            started.queries = StatsQueries(api_pool, settings.schema_name)
            started.readiness[:] = [*run.readiness(), monitor.readiness()]
            yield

    app = service_app(SERVICE, lifespan=lifespan, readiness=started.readiness)
    app.include_router(stats_router(started.the_queries, disconnect_poll_s=settings.api_disconnect_poll_s))
    app.add_exception_handler(ClientGoneError, _nobody_to_answer)
    mount_live_page(app, started.the_feed)
    return app


async def _ended(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    stop.set()
    await task


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _nobody_to_answer(_: Request, __: Exception) -> Response:
    # The client closed the connection: nothing is sent; 499 (nginx's "client closed request") is what
    # the access log and the request metrics record.
    return Response(status_code=499)


def main() -> None:
    settings = settings_or_exit(StatisticsSettings)
    configure_service_logging(SERVICE, settings)
    serve(build_app(settings), settings.http_host, settings.http_port, settings.server_limits())
