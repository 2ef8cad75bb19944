"""Generated local secrets (database passwords), kept under .local/secrets with owner-only permissions."""

from __future__ import annotations

import secrets
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
