"""The eligibility service's settings, read once at start."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from amnesty_runtime.settings import ServiceSettings


class EligibilitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AMNESTY_ELIGIBILITY_", extra="ignore")

    http_port: int = 8002
