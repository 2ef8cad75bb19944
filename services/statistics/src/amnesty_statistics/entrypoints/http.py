"""The HTTP door: GET /v1/stats/summary, /v1/stats/series and /v1/stats/regions (contract.md).

A parameter that cannot be answered is a 400 naming it:
``{"error": "invalid-parameter", "parameter": "from", "detail": "must be a date written YYYY-MM-DD"}``
(``missing-parameter`` for a required one that is absent), never FastAPI's default 422.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from amnesty_statistics.adapters.stats_queries import StatsQueries
from amnesty_statistics.domain.queries import InvalidParameter, parse_filters, parse_series
from amnesty_statistics.service_layer import reporting

From = Annotated[
    str | None, Query(alias="from", description="First business date, YYYY-MM-DD (default: all time).")
]
To = Annotated[
    str | None, Query(description="Last business date, YYYY-MM-DD, inclusive (default: all time).")
]
Region = Annotated[str | None, Query(description="An ISO 3166-2:UA code, e.g. UA-48, or `unknown`.")]
ArticleParam = Annotated[str | None, Query(description="`407`, `408` or `unknown`.")]


def bad_request(invalid: InvalidParameter) -> JSONResponse:
    return JSONResponse(invalid.as_json(), status_code=400)


async def invalid_request(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own validation failures answered like ours: 400, naming the parameter."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    where = errors[0].get("loc", ()) if errors else ()
    parameter = str(where[-1]) if where else "request"
    detail = str(errors[0].get("msg", "invalid")) if errors else "invalid request"
    return bad_request(InvalidParameter(parameter, detail))


def stats_router(queries: Callable[[], StatsQueries]) -> APIRouter:
    router = APIRouter(prefix="/v1/stats", tags=["statistics"])

    @router.get("/summary", response_model=None)
    async def get_summary(
        from_: From = None, to: To = None, region: Region = None, article: ArticleParam = None
    ) -> dict[str, Any] | JSONResponse:
        """Totals for the business-date range; open cases as of `to` (default: now)."""
        filters = parse_filters({"from": from_, "to": to, "region": region, "article": article})
        if isinstance(filters, InvalidParameter):
            return bad_request(filters)
        return await reporting.summary(queries(), filters)

    @router.get("/series", response_model=None)
    async def get_series(
        *,
        metric: Annotated[str | None, Query(description="One of the summary's names.")] = None,
        period: Annotated[
            str | None, Query(description="`day`, `week` (ISO, from Monday) or `month`.")
        ] = None,
        from_: From = None,
        to: To = None,
        region: Region = None,
        article: ArticleParam = None,
    ) -> list[dict[str, Any]] | JSONResponse:
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
            return bad_request(query)
        points = await reporting.series(queries(), query)
        return bad_request(points) if isinstance(points, InvalidParameter) else points

    @router.get("/regions", response_model=None)
    async def get_regions(from_: From = None, to: To = None) -> dict[str, Any] | JSONResponse:
        """The summary of every region."""
        filters = parse_filters({"from": from_, "to": to}, by_region=False)
        if isinstance(filters, InvalidParameter):
            return bad_request(filters)
        return await reporting.regions(queries(), filters)

    return router
