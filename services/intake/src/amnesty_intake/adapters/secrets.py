"""The pseudonym key and the API token: from the environment or a secret file; generated for demo/test."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from amnesty_intake.domain.pseudonyms import MINIMUM_KEY_BYTES
from amnesty_intake.settings import IntakeSettings, Profile
from amnesty_runtime.stack.secrets import local_secret


class MissingSecretError(RuntimeError):
    """A secret production needs was not given; the service refuses to start."""


def _given(value: SecretStr | None, file: Path | None, what: str) -> str | None:
    if value is not None:
        return value.get_secret_value()
    if file is not None:
        text = file.read_text().strip() if file.exists() else ""
        if not text:
            raise MissingSecretError(f"{what}: the file {file} is missing or empty")
        return text
    return None


def _secret(settings: IntakeSettings, local: Path, value: str | None, name: str, hint: str) -> str:
    if value is not None:
        return value
    if settings.profile in (Profile.DEMO, Profile.TEST):
        return local_secret(local / "secrets", name)
    raise MissingSecretError(f"intake refuses to start without {hint}")


def pseudonym_key(settings: IntakeSettings, local: Path) -> bytes:
    """The HMAC key behind every pseudonym: AMNESTY_PSEUDONYM_KEY or AMNESTY_PSEUDONYM_KEY_FILE."""
    given = _given(settings.pseudonym_key, settings.pseudonym_key_file, "AMNESTY_PSEUDONYM_KEY_FILE")
    key = _secret(
        settings,
        local,
        given,
        "pseudonym.key",
        "a pseudonym key (AMNESTY_PSEUDONYM_KEY or AMNESTY_PSEUDONYM_KEY_FILE)",
    ).encode()
    if len(key) < MINIMUM_KEY_BYTES:
        raise MissingSecretError(f"the pseudonym key must have at least {MINIMUM_KEY_BYTES} bytes")
    return key


def api_token(settings: IntakeSettings, local: Path) -> str:
    """The bearer token of POST /v1/submissions: AMNESTY_INTAKE_API_TOKEN or AMNESTY_INTAKE_API_TOKEN_FILE."""
    given = _given(settings.api_token, settings.api_token_file, "AMNESTY_INTAKE_API_TOKEN_FILE")
    return _secret(
        settings,
        local,
        given,
        "intake-api.token",
        "an API token (AMNESTY_INTAKE_API_TOKEN or AMNESTY_INTAKE_API_TOKEN_FILE)",
    )
