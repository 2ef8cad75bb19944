"""The intake service's settings, read once at start."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from amnesty_contracts import CASES, REJECTED, UPSTREAM
from amnesty_runtime.settings import SERVICE_PORTS, Port, ServiceSettings


class Profile(StrEnum):
    """Production refuses to start without its secrets; demo and test generate local ones and keep them."""

    PRODUCTION = "production"
    DEMO = "demo"
    TEST = "test"


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AMNESTY_INTAKE_", extra="ignore", populate_by_name=True)

    http_port: Port = SERVICE_PORTS["intake"]
    profile: Profile = Field(default=Profile.PRODUCTION, validation_alias="AMNESTY_PROFILE")
    pseudonym_key: SecretStr | None = Field(default=None, validation_alias="AMNESTY_PSEUDONYM_KEY")
    pseudonym_key_file: Path | None = Field(default=None, validation_alias="AMNESTY_PSEUDONYM_KEY_FILE")
    api_token: SecretStr | None = Field(
        default=None,
        description="Operator bearer token of POST /v1/submissions: may submit as any source (tools).",
    )
    api_token_file: Path | None = None
    source_tokens_file: Path | None = Field(
        default=None,
        description='JSON object of one bearer token per upstream source, {"erdr": "<token>", ...}.',
    )
    upstream_sources: list[str] = Field(
        default=["erdr", "army-plus", "military-police", "court-registry", "reserve-battalion-12"],
        description="The sources demo and test profiles generate a token for (production: the file's).",
    )
    body_seconds: float = Field(
        default=30.0, gt=0, description="A request body not received in full by then is answered 408."
    )
    schema_name: str = Field(default="intake", description="The PostgreSQL schema (the service's own).")
    consumer_group: str = "intake"
    upstream_topic: str = UPSTREAM
    cases_topic: str = CASES
    rejected_topic: str = REJECTED
    batch_max_records: int = Field(default=500, ge=1)
