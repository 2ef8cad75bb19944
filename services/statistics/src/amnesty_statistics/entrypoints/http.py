"""The HTTP door: GET /v1/stats/summary, /v1/stats/series and /v1/stats/regions (docs/contract.md).

A parameter that cannot be answered is a 400 problem (RFC 9457) naming it:
``{"type": "urn:amnesty-events:problem:invalid-parameter", "title": "Invalid parameter", "status": 400,
"detail": "from: must be a date written YYYY-MM-DD", "instance": "/v1/stats/summary",
"errors": [{"parameter": "from", "message": "must be a date written YYYY-MM-DD"}]}``
(``missing-parameter`` for a required one that is absent).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from amnesty_contracts import REGION_NAMES, Article
from amnesty_runtime.problems import ProblemError, invalid_parameter, problem_openapi
from amnesty_statistics.adapters.stats_queries import StatsQueries
from amnesty_statistics.domain.figures import UNKNOWN
from amnesty_statistics.domain.queries import (
    InvalidParameter,
    Period,
    SeriesMetric,
    parse_filters,
    parse_series,
)
from amnesty_statistics.entrypoints.client_watch import answer_while_connected
from amnesty_statistics.entrypoints.representations import Regions, SeriesPoint, Summary
from amnesty_statistics.service_layer import reporting

# The parameters are read as text and checked by domain.queries (a 400 naming the one at fault); what
# the schemas add (format, enum) documents the values that check accepts.
_DATE = {"format": "date"}
From = Annotated[
    str | None,
    Query(
        alias="from",
        description="First business date, YYYY-MM-DD (default: all time).",
        json_schema_extra=_DATE,
    ),
]
To = Annotated[
    str | None,
    Query(
        description="Last business date, YYYY-MM-DD, inclusive (default: all time).", json_schema_extra=_DATE
    ),
]
Region = Annotated[
    str | None,
    Query(
        description="An ISO 3166-2:UA code, e.g. UA-48, or `unknown`.",
        json_schema_extra={"enum": [*sorted(REGION_NAMES), UNKNOWN]},
    ),
]
ArticleParam = Annotated[
    str | None,
    Query(
        description="`407`, `408` or `unknown`.",
        json_schema_extra={"enum": [*(a.value for a in Article), UNKNOWN]},
    ),
]
MetricParam = Annotated[
    str | None,
    Query(
        description="One of the summary's names.", json_schema_extra={"enum": [m.value for m in SeriesMetric]}
    ),
]
PeriodParam = Annotated[
    str | None,
    Query(
        description="`day`, `week` (ISO, from Monday) or `month`.",
        json_schema_extra={"enum": [p.value for p in Period]},
    ),
]


_BAD_PARAMETER: dict[int | str, dict[str, Any]] = {
    400: problem_openapi("A parameter cannot be answered: the problem names it."),
    503: problem_openapi("The query took longer than the API allows (its statement timeout)."),
}


def bad_request(invalid: InvalidParameter) -> ProblemError:
    return invalid_parameter(invalid.parameter, invalid.detail, invalid.error)


def stats_router(queries: Callable[[], StatsQueries], *, disconnect_poll_s: float = 0.25) -> APIRouter:
    """The statistics API; each query is cancelled when its client goes away (client_watch.py)."""
    router = APIRouter(prefix="/v1/stats", tags=["statistics"])

    @router.get("/summary", response_model=Summary, responses=_BAD_PARAMETER)
    async def get_summary(
        request: Request,
        from_: From = None,
        to: To = None,
        region: Region = None,
        article: ArticleParam = None,
    ) -> dict[str, Any]:
        """Totals for the business-date range; open cases as of `to` (default: now)."""
        filters = parse_filters({"from": from_, "to": to, "region": region, "article": article})
        if isinstance(filters, InvalidParameter):
            raise bad_request(filters)
        return await answer_while_connected(request, reporting.summary(queries(), filters), disconnect_poll_s)

    @router.get("/series", response_model=list[SeriesPoint], responses=_BAD_PARAMETER)
    async def get_series(
        request: Request,
        *,
        metric: MetricParam = None,
        period: PeriodParam = None,
        from_: From = None,
        to: To = None,
        region: Region = None,
        article: ArticleParam = None,
    ) -> list[dict[str, Any]]:
        """`[{"period": "2025-05-01", "value": 18134}, …]`: every period of the range, zeros included."""
        query = parse_series(
            {
                "metric": metric,
                "period": period,
                "from": from_,
                "to": to,
                "region": region,
                "article": article,
            }
        )
        if isinstance(query, InvalidParameter):
            raise bad_request(query)
        points = await answer_while_connected(request, reporting.series(queries(), query), disconnect_poll_s)
        if isinstance(points, InvalidParameter):
            raise bad_request(points)
        return points

    @router.get("/regions", response_model=Regions, responses=_BAD_PARAMETER)
    async def get_regions(request: Request, from_: From = None, to: To = None) -> dict[str, Any]:
        """The summary of every region."""
        filters = parse_filters({"from": from_, "to": to}, by_region=False)
        if isinstance(filters, InvalidParameter):
            raise bad_request(filters)
        return await answer_while_connected(request, reporting.regions(queries(), filters), disconnect_poll_s)

    return router
