"""The live page: GET / (the page), GET /v1/stats/stream (its server-sent events) and /static (its assets).

The page is plain HTML and one ES module (static/live.js) that draws with Chart.js, vendored into
static/vendor/ at build time (services/statistics/web): nothing is loaded from another site. It reads
the figures through the statistics API and re-reads them when the stream says the read model changed.
"""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from importlib.resources import files
from string import Template
from typing import Any, Final

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sse_starlette import EventSourceResponse, ServerSentEvent

from amnesty_contracts import REGION_NAMES
from amnesty_eventstore import Pool
from amnesty_statistics.adapters.read_model_position import ReadModelPosition
from amnesty_statistics.adapters.stats_queries import StatsQueries
from amnesty_statistics.domain.figures import UNKNOWN
from amnesty_statistics.domain.official_figures import OFFICIAL_RETURNS, OfficialReturns
from amnesty_statistics.domain.queries import Filters
from amnesty_statistics.service_layer import reporting
from amnesty_statistics.service_layer.live_updates import ChangeFeed
from amnesty_statistics.settings import StatisticsSettings

STATIC_PATH: Final = "/static"
_PING_S: Final = 15  # a comment line now and then keeps proxies from closing an idle stream
_EVENT_STREAM: Final = "text/event-stream"
_STREAM_SCHEMA: Final = {
    "schema": {
        "type": "string",
        "description": "Server-sent events `changed`, each with the all-time summary as its JSON data.",
    }
}


def change_feed(pool: Pool, settings: StatisticsSettings, queries: StatsQueries) -> ChangeFeed:
    """The feed of the served read model: its position every `live_poll_s`, the all-time summary on a move."""

    async def totals() -> dict[str, Any]:
        return await reporting.summary(queries, Filters())

    position = ReadModelPosition(pool, settings.schema_name, settings.consumer_group)
    return ChangeFeed(position, totals, settings.live_poll_s)


def mount_live_page(app: FastAPI, feed: Callable[[], ChangeFeed]) -> None:
    """GET /, GET /v1/stats/stream and the page's assets under /static (from the package's data)."""
    app.include_router(live_router(render_page(REGION_NAMES.items(), OFFICIAL_RETURNS), feed))
    app.mount(STATIC_PATH, StaticFiles(packages=[("amnesty_statistics", "static")]), name="static")


def render_page(region_names: Iterable[tuple[str, str]], official: Sequence[OfficialReturns]) -> str:
    """The page with its region choices and the official figures filled in (once, at start)."""
    options = "\n".join(
        f'<option value="{html.escape(code)}">{html.escape(name)}</option>'
        for code, name in sorted(region_names, key=lambda item: item[1])
    )
    options += f'\n<option value="{UNKNOWN}">Region unknown</option>'
    reference = json.dumps([o.as_json() for o in official]).replace("</", "<\\/")
    template = Template(files("amnesty_statistics.entrypoints").joinpath("live_page.html").read_text())
    return template.substitute(region_options=options, official_returns=reference, static=STATIC_PATH)


def live_router(page: str, feed: Callable[[], ChangeFeed]) -> APIRouter:
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse, tags=["live page"])
    async def live_page() -> HTMLResponse:
        """Returns against new cases, decisions and cumulative returns, updating without reload."""
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    @router.get(
        "/v1/stats/stream",
        tags=["statistics"],
        response_class=EventSourceResponse,
        responses={
            200: {"description": "The stream of changes.", "content": {_EVENT_STREAM: _STREAM_SCHEMA}}
        },
    )
    async def stream() -> EventSourceResponse:
        """Server-sent events: `changed` with the all-time totals, at once and whenever the read model
        moves (checked every second); the page then re-fetches what it shows."""

        async def changes() -> AsyncIterator[ServerSentEvent]:
            async for change in feed().changes():
                yield ServerSentEvent(data=json.dumps(change.totals), event="changed")

        return EventSourceResponse(changes(), ping=_PING_S, headers={"Cache-Control": "no-store"})

    return router
