"""The local stack's Kafka principals' credentials: one JSON file of aiokafka keyword arguments each.

``.local/secrets/kafka-<principal>.json`` (0600, in a 0700 directory) is what a client of the local
stack loads, inside this code base (`Endpoints.kafka_client_options`) or outside it (an upstream
team: ``AIOKafkaProducer(**json.load(f))``). A password is generated once and kept; the address is
written again at every `stack up`, so a changed AMNESTY_KAFKA_PORT reaches every file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from amnesty_runtime.kafka_client import KafkaClientOptions, load_client_options
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.principals import PRINCIPALS


class KafkaCredentials:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, principal: str) -> Path:
        return self.directory / f"kafka-{principal}.json"

    def options(self, principal: str) -> KafkaClientOptions:
        path = self.path(principal)
        if not path.exists():
            raise StackError(
                f"No Kafka credentials for {principal!r} at {path}: run `amnesty stack up` first."
            )
        return load_client_options(path)

    def passwords(self) -> dict[str, str]:
        """Every principal's password, generating the missing ones (not written until `write`)."""
        found = {}
        for principal in PRINCIPALS:
            path = self.path(principal)
            password = load_client_options(path).password if path.exists() else None
            found[principal] = password or secrets.token_urlsafe(24)
        return found

    def write(self, bootstrap_servers: str, passwords: dict[str, str]) -> None:
        """Write (or rewrite) each principal's file, owner-only."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        for principal, password in passwords.items():
            options = KafkaClientOptions(
                bootstrap_servers, "SASL_PLAINTEXT", username=principal, password=password
            )
            path = self.path(principal)
            # Created 0600 from the start: no moment where another user could open it.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(options.to_json())
            path.chmod(0o600)
