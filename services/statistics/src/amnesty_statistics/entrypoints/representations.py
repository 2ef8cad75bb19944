"""What the statistics API answers, as typed models: they are its OpenAPI schemas, and FastAPI checks
every answer against them."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class Figures(BaseModel):
    """The summary's figures (docs/contract.md): counts by business date, open cases at the range's end."""

    cases_opened: int
    voluntary_returns: int
    detained: int
    amnesties_granted: int
    amnesties_granted_by_regime: dict[str, int] = Field(description="Grants by regime, e.g. window-1.")
    amnesties_denied: int
    amnesties_denied_by_reason: dict[str, int] = Field(description="Denials by reason, e.g. outside-window.")
    pending: int
    revoked: int
    open_cases: int = Field(description="Cases still absent at the end of the range (default: now).")
    return_rate: float | None = Field(description="Voluntary returns / cases opened; null without cases.")


class DateRange(BaseModel):
    """The business-date range asked for (null: unbounded)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date | None = Field(alias="from")
    to: date | None


class Summary(DateRange, Figures):
    """GET /v1/stats/summary."""

    region: str | None = Field(description="The region asked for (ISO 3166-2:UA or `unknown`), if any.")
    article: str | None = Field(description="The article asked for (`407`, `408` or `unknown`), if any.")


class RegionFigures(Figures):
    region: str = Field(description="ISO 3166-2:UA code, or `unknown`.")
    name: str = Field(description="The region's English name.")


class Regions(DateRange):
    """GET /v1/stats/regions."""

    regions: list[RegionFigures]


class SeriesPoint(BaseModel):
    """One period of GET /v1/stats/series."""

    period: date = Field(description="The first day of the period.")
    value: int | float | None = Field(
        description="The period's figure; a rate is a fraction, null when it has no cases opened."
    )
