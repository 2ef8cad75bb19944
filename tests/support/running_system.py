"""The running system the contract suite checks: given by address, or started here as local processes.

The compose `contract` container (and anyone testing a deployed system) gives the services' addresses in
`AMNESTY_INTAKE_URL`, `AMNESTY_ELIGIBILITY_URL`, `AMNESTY_STATISTICS_URL` and the broker in
`KAFKA_BOOTSTRAP_SERVERS`; nothing is started then. Intake's bearer token, for the tests that submit,
comes as intake itself takes it: `AMNESTY_INTAKE_API_TOKEN` or `AMNESTY_INTAKE_API_TOKEN_FILE`.
Without the addresses, the three services run as local processes on the test stack, each on its own
schema, topics and consumer group.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from amnesty_contracts import CASES, DECISIONS
from amnesty_eventstore import Pool
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import Endpoints
from tests.support.intake import TOKEN
from tests.support.pipeline import pipeline_under_test


class SystemAddresses(BaseSettings):
    """Where an already running system is; every address unset means "start one here"."""

    model_config = SettingsConfigDict(env_prefix="AMNESTY_", extra="ignore")

    intake_url: str | None = None
    eligibility_url: str | None = None
    statistics_url: str | None = None
    kafka_bootstrap_servers: str | None = Field(default=None, validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    intake_api_token: SecretStr | None = None
    intake_api_token_file: Path | None = None

    def token(self) -> str | None:
        """Intake's bearer token, when given (a file's content stripped of its line end)."""
        if self.intake_api_token is not None:
            return self.intake_api_token.get_secret_value()
        if self.intake_api_token_file is not None:
            return self.intake_api_token_file.read_text(encoding="utf-8").strip()
        return None

    @property
    def given(self) -> tuple[str, str, str] | None:
        """Intake's, eligibility's and statistics' URLs, when every one is given."""
        if self.intake_url and self.eligibility_url and self.statistics_url:
            return self.intake_url, self.eligibility_url, self.statistics_url
        return None


@dataclass(frozen=True)
class RunningSystem:
    intake_url: str
    eligibility_url: str
    statistics_url: str
    kafka_bootstrap_servers: str | None
    """The broker the services use, when known (a deployment may not tell)."""
    intake_api_token: str | None
    """The bearer token of intake's POST /v1/submissions, when known."""
    cases_topic: str = CASES
    decisions_topic: str = DECISIONS
    kafka: KafkaClientOptions | None = None
    """How the suite reads the topics: the local stack's admin, or AMNESTY_KAFKA_SASL_* for a given system."""


@asynccontextmanager
async def running_system(
    addresses: SystemAddresses, local: tuple[Endpoints, Pool] | None, logs: Path
) -> AsyncIterator[RunningSystem]:
    """The system at `addresses`, or three local processes on the `local` stack (endpoints, admin pool)."""
    if addresses.given is not None:
        intake, eligibility, statistics = (url.rstrip("/") for url in addresses.given)
        bootstrap = addresses.kafka_bootstrap_servers
        kafka = None
        if bootstrap is not None:
            kafka = InfraSettings().kafka_client_options(bootstrap) or KafkaClientOptions(bootstrap)
        yield RunningSystem(intake, eligibility, statistics, bootstrap, addresses.token(), kafka=kafka)
        return
    assert local is not None, "no running system given and no local stack to start one on"
    endpoints, admin_pool = local
    async with pipeline_under_test(endpoints, admin_pool, logs) as pipeline:
        await pipeline.start()
        yield RunningSystem(
            pipeline.intake.process.url,
            pipeline.eligibility.process.url,
            pipeline.statistics.process.url,
            endpoints.kafka_bootstrap_servers,
            TOKEN,
            pipeline.intake.cases,
            pipeline.eligibility.decisions,
            kafka=endpoints.kafka_admin,
        )
