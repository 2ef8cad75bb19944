"""The pseudonym key and the API tokens: from the environment or secret files; generated for demo/test."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import SecretStr

from amnesty_intake.domain.pseudonyms import MINIMUM_KEY_BYTES
from amnesty_intake.domain.senders import SourceTokens
from amnesty_intake.settings import IntakeSettings, Profile
from amnesty_runtime.stack.secrets import local_secret, local_source_tokens


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


def source_tokens(settings: IntakeSettings, local: Path) -> SourceTokens:
    """The bearer tokens of POST /v1/submissions: one per upstream source (AMNESTY_INTAKE_SOURCE_TOKENS_FILE,
    a JSON object source -> token) and an optional operator token valid for any source
    (AMNESTY_INTAKE_API_TOKEN or AMNESTY_INTAKE_API_TOKEN_FILE). Demo and test generate both."""
    generated = settings.profile in (Profile.DEMO, Profile.TEST)
    per_source: dict[str, str] = {}
    if settings.source_tokens_file is not None:
        per_source = _token_file(settings.source_tokens_file)
    elif generated:
        per_source = local_source_tokens(local / "secrets", settings.upstream_sources)
    operator = _given(settings.api_token, settings.api_token_file, "AMNESTY_INTAKE_API_TOKEN_FILE")
    if operator is None and generated:
        operator = local_secret(local / "secrets", "intake-api.token")
    if not per_source and operator is None:
        raise MissingSecretError(
            "intake refuses to start without API tokens "
            "(AMNESTY_INTAKE_SOURCE_TOKENS_FILE, or AMNESTY_INTAKE_API_TOKEN / AMNESTY_INTAKE_API_TOKEN_FILE)"
        )
    try:
        return SourceTokens(per_source, operator)
    except ValueError as exc:
        raise MissingSecretError(f"intake's API tokens: {exc}") from exc


def _token_file(path: Path) -> dict[str, str]:
    try:
        tokens: object = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MissingSecretError(f"AMNESTY_INTAKE_SOURCE_TOKENS_FILE: {path} is not readable JSON") from exc
    if (
        not isinstance(tokens, dict)
        or not tokens
        or not all(isinstance(v, str) and len(v) >= _SHORTEST_TOKEN for v in tokens.values())
    ):
        raise MissingSecretError(
            f"AMNESTY_INTAKE_SOURCE_TOKENS_FILE: {path} must hold a JSON object of source -> token "
            f"(tokens of at least {_SHORTEST_TOKEN} characters)"
        )
    return {str(k): str(v) for k, v in tokens.items()}


_SHORTEST_TOKEN = 16
