"""The intake service's settings, read once at start."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from amnesty_runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AMNESTY_INTAKE_", extra="ignore")

    http_port: int = 8001
