"""Event signatures in tests: the local stack's keys, as the services under test are given them.

Helpers that publish domain events straight to a topic stand in for intake's or eligibility's outbox
relay, so they sign as that producer; tests of forgery publish without these.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from amnesty_eventstore.signatures import Signer
from amnesty_runtime.provenance import read_key
from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.signing_keys import service_key_environment, signing_key_file


def secrets_dir() -> Path:
    """Where the local stack keeps its secrets (the same place the services' keys come from)."""
    return InfraSettings().local / "secrets"


@cache
def signer(producer: str) -> Signer:
    """Signs as ``producer`` (``intake`` or ``eligibility``) with the local stack's key."""
    return Signer(read_key(signing_key_file(secrets_dir(), producer), producer))


def key_environment(service: str) -> dict[str, str]:
    """The variables giving ``service`` its signing key and its producers' keys."""
    return service_key_environment(service, secrets_dir())
