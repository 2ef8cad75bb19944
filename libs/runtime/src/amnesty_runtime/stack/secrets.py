"""Generated local secrets (database passwords), kept under .local/secrets with owner-only permissions."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from pathlib import Path


def local_secret(directory: Path, name: str) -> str:
    """The secret stored as ``directory/name``, created on first use and then kept."""
    path = directory / name
    if path.exists():
        return path.read_text().strip()
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    value = secrets.token_urlsafe(24)
    path.touch(mode=0o600)
    path.write_text(value + "\n")
    return value


SOURCE_TOKENS = "intake-source-tokens.json"
"""The file of intake's per-source bearer tokens, {source: token}, under .local/secrets."""


def local_source_tokens(directory: Path, sources: Iterable[str]) -> dict[str, str]:
    """One bearer token per upstream source, kept in ``directory/intake-source-tokens.json``; a source
    not in the file yet gets a new token, the others keep theirs."""
    path = directory / SOURCE_TOKENS
    tokens: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [s for s in sources if s not in tokens]
    if missing:
        tokens |= {source: secrets.token_urlsafe(24) for source in missing}
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)
        path.touch(mode=0o600)
        path.write_text(json.dumps(tokens, indent=2, sort_keys=True) + "\n")
    return tokens
