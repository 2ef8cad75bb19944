"""How a Kafka client connects: the one place that turns an address and credentials into client options.

Every Kafka client of the system (aiokafka producers, consumers and admin clients, FastStream brokers)
gets its connection from a `KafkaClientOptions`: PLAINTEXT for a broker without authentication (an
external one given by KAFKA_BOOTSTRAP_SERVERS alone), SASL/SCRAM-SHA-512 for the local stack and
compose, optionally over TLS (SASL_SSL with a CA file) where the traffic crosses hosts.

The JSON form is the aiokafka keyword arguments the local stack writes to
``.local/secrets/kafka-<principal>.json`` for clients outside this code base (an upstream team).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiokafka.helpers import create_ssl_context
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]

SCRAM_SHA_512: SaslMechanism = "SCRAM-SHA-512"


@dataclass(frozen=True)
class KafkaClientOptions:
    """Where the cluster is and who this client is on it (a SASL principal, or nobody on PLAINTEXT)."""

    bootstrap_servers: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = SCRAM_SHA_512
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_cafile: Path | None = None

    def __post_init__(self) -> None:
        if self.sasl and (not self.username or self.password is None):
            raise ValueError(f"{self.security_protocol} needs a SASL username and password")

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def principal(self) -> str | None:
        """The Kafka principal the broker sees (for messages and logs; the password never appears)."""
        return f"User:{self.username}" if self.sasl else None

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.sasl:
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        if self.tls:
            options["ssl_context"] = self._ssl_context()
        return options

    def faststream_security(self) -> BaseSecurity | None:
        """The same connection as FastStream's KafkaBroker(security=...) wants it."""
        ssl_context = self._ssl_context() if self.tls else None
        if not self.sasl:
            return BaseSecurity(ssl_context=ssl_context) if self.tls else None
        assert self.username is not None  # both checked in __post_init__
        assert self.password is not None
        kind = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}
        return kind[self.sasl_mechanism](
            self.username, self.password, ssl_context=ssl_context, use_ssl=self.tls
        )

    def to_json(self) -> str:
        """The aiokafka keyword arguments as JSON (the credentials file an outside client loads)."""
        document: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.sasl:
            document |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        if self.ssl_cafile is not None:
            document["ssl_cafile"] = str(self.ssl_cafile)
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> KafkaClientOptions:
        document = json.loads(text)
        missing = [k for k in ("bootstrap_servers", "security_protocol") if k not in document]
        if missing:
            raise ValueError(f"Kafka client options without {', '.join(missing)}")
        cafile = document.get("ssl_cafile")
        return cls(
            bootstrap_servers=document["bootstrap_servers"],
            security_protocol=document["security_protocol"],
            sasl_mechanism=document.get("sasl_mechanism", SCRAM_SHA_512),
            username=document.get("sasl_plain_username"),
            password=document.get("sasl_plain_password"),
            ssl_cafile=Path(cafile) if cafile else None,
        )

    def environment(self) -> dict[str, str]:
        """The same options as environment variables, for a child process (a service under test) whose
        InfraSettings read them back."""
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "AMNESTY_KAFKA_SECURITY_PROTOCOL": self.security_protocol,
        }
        if self.sasl:
            assert self.username is not None
            assert self.password is not None
            env |= {
                "AMNESTY_KAFKA_SASL_MECHANISM": self.sasl_mechanism,
                "AMNESTY_KAFKA_SASL_USERNAME": self.username,
                "AMNESTY_KAFKA_SASL_PASSWORD": self.password,
            }
        if self.ssl_cafile is not None:
            env["AMNESTY_KAFKA_SSL_CAFILE"] = str(self.ssl_cafile)
        return env

    def as_user(self, username: str, password: str) -> KafkaClientOptions:
        """The same cluster, logged in as another principal (SASL_PLAINTEXT unless already on TLS)."""
        protocol: SecurityProtocol = "SASL_SSL" if self.tls else "SASL_PLAINTEXT"
        return KafkaClientOptions(
            self.bootstrap_servers, protocol, self.sasl_mechanism, username, password, self.ssl_cafile
        )

    def _ssl_context(self) -> Any:
        # The CA that signed the brokers' certificates; without one, the system's trust store.
        return create_ssl_context(cafile=str(self.ssl_cafile) if self.ssl_cafile else None)


def load_client_options(path: Path) -> KafkaClientOptions:
    """A credentials file written by `amnesty stack up` (or by hand, in the same form)."""
    return KafkaClientOptions.from_json(path.read_text())


__all__ = ["SCRAM_SHA_512", "KafkaClientOptions", "SaslMechanism", "SecurityProtocol", "load_client_options"]
