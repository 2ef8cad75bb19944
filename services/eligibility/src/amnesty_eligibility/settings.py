"""The eligibility service's settings, read once at start (environment prefix AMNESTY_ELIGIBILITY_)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from amnesty_contracts import CASES, DECISIONS, REJECTED
from amnesty_runtime.settings import SERVICE_PORTS, Port, ServiceSettings

ACTIVE_RULE_SET: Final = "2026-06-12"
"""The rule set shipped as the law in force (rule_sets/2026-06-12.toml)."""


class EligibilitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AMNESTY_ELIGIBILITY_", extra="ignore")

    http_port: Port = SERVICE_PORTS["eligibility"]
    rule_set: str = Field(
        default=ACTIVE_RULE_SET, description="Version of a rule set shipped in the package: the law applied."
    )
    rules_file: Path | None = Field(
        default=None, description="A rule-set TOML file to apply instead of the packaged `rule_set`."
    )
    schema_name: str = Field(default="eligibility", description="The PostgreSQL schema (the service's own).")
    consumer_group: str = "eligibility"
    cases_topic: str = CASES
    decisions_topic: str = DECISIONS
    rejected_topic: str = REJECTED
    batch_max_records: int = Field(default=500, ge=1)
    person_cache_size: int = Field(
        default=10_000,
        ge=0,
        description="Persons kept in memory between batches (about 2 KB each), read again when evicted.",
    )
