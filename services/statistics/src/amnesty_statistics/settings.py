"""The statistics service's settings, read once at start (environment prefix AMNESTY_STATISTICS_).

`amnesty rebuild statistics` reads the same settings, so it builds the read model the service serves.
"""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from amnesty_contracts import CASES, DECISIONS, REJECTED
from amnesty_runtime.settings import Port, ServiceSettings


class StatisticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AMNESTY_STATISTICS_", extra="ignore", populate_by_name=True)

    http_port: Port = 8000
    schema_name: str = Field(default="statistics", description="The PostgreSQL schema (the service's own).")
    consumer_group: str = Field(
        default="statistics", description="Base name: version N of the read model consumes as <group>-vN."
    )
    cases_topic: str = CASES
    decisions_topic: str = DECISIONS
    rejected_topic: str = Field(
        default=REJECTED, description="Where events of unproven provenance are dead-lettered."
    )
    batch_max_records: int = Field(default=500, ge=1)
    batch_wait_ms: int = Field(
        default=250,
        ge=0,
        le=500,
        description="As every service's (see ServiceSettings), longer: the read model is for people "
        "watching a page, and at 1,000 returns/s batches of a quarter second cost the projection a fifth "
        "less CPU than batches of 50 ms, CPU the decisions on the same machine then have.",
    )
    rebuild_batch_max_records: int = Field(default=2000, ge=1, description="Batches of a rebuild.")
    rebuild_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Processes a rebuild folds in (its own process reads and writes beside them).",
    )
    version_poll_s: float = Field(default=3.0, gt=0, description="How often the active version is checked.")
    retired_grace_s: float = Field(
        default=30.0, ge=0, description="How long a retired version is kept before its tables are dropped."
    )
    lag_interval_s: float = Field(default=1.0, gt=0, description="How often the projection lag is measured.")
    ready_max_lag_s: float = Field(
        default=120.0, gt=0, description="Ready while the read model is at most this far behind its topics."
    )
    figures_refresh_s: float = Field(
        default=5.0, gt=0, description="How often the business gauges are read from the read model."
    )
    api_pool_size: int = Field(
        default=4,
        ge=1,
        description="Connections of the API's own pool: API queries never take the projection's.",
    )
    api_statement_timeout_s: float = Field(
        default=5.0, gt=0, description="An API query running longer is cancelled and answered 503."
    )
    api_disconnect_poll_s: float = Field(
        default=0.25, gt=0, description="How often a running API query checks that its client still waits."
    )
    live_poll_s: float = Field(
        default=1.0, gt=0, description="How often the live page's feed checks whether the read model moved."
    )

    @property
    def topics(self) -> tuple[str, str]:
        return (self.cases_topic, self.decisions_topic)
