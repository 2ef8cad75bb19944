"""The local stack's event-signing keys: one per producing service under .local/secrets, owner-only.

Each service is given by its environment only what it needs (``service_key_environment``): its own key,
and the keys of the producers whose events it consumes.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path

from amnesty_runtime.provenance import TRUSTED_PRODUCERS


def signing_key_file(secrets_dir: Path, producer: str) -> Path:
    """``secrets_dir/signing-<producer>.key``, created (0600, 32 random bytes as hex) on first use.

    Created beside under a temporary name and linked into place, so two processes starting at once
    agree on one key.
    """
    path = secrets_dir / f"signing-{producer}.key"
    if path.exists():
        return path
    secrets_dir.mkdir(parents=True, exist_ok=True)
    secrets_dir.chmod(0o700)
    draft = secrets_dir / f".signing-{producer}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_hex(32) + "\n")
    with contextlib.suppress(FileExistsError):  # another process won: its key is the key
        os.link(draft, path)
    draft.unlink()
    return path


def service_key_environment(service: str, secrets_dir: Path) -> dict[str, str]:
    """The variables that give ``service`` its signing key and the verifying keys of its producers."""
    prefix = f"AMNESTY_{service.upper()}"
    trusted = {p: [str(signing_key_file(secrets_dir, p))] for p in TRUSTED_PRODUCERS[service]}
    return {
        f"{prefix}_SIGNING_KEY_FILE": str(signing_key_file(secrets_dir, service)),
        f"{prefix}_VERIFYING_KEY_FILES": json.dumps(trusted),
    }
