"""Infrastructure settings shared by the CLI, the local stack and every service.

Read once at start (pydantic-settings); nothing else in the code reads the environment.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from amnesty_contracts.topics import REJECTED, UPSTREAM
from amnesty_eventstore.kafka_batches import Fetching, Membership
from amnesty_runtime.http_server import ServerLimits
from amnesty_runtime.kafka_client import SCRAM_SHA_512, KafkaClientOptions, SaslMechanism, SecurityProtocol

Port = Annotated[int, Field(ge=1, le=65535)]
"""A TCP port: refused when read, not when a bind or a connection fails after the service has started."""

LogLevel = Annotated[
    Literal["CRITICAL", "FATAL", "ERROR", "WARNING", "WARN", "INFO", "DEBUG"],
    BeforeValidator(lambda value: value.upper() if isinstance(value, str) else value),
]
"""A logging level by name, in any case (logging itself takes only the upper-case one)."""

SERVICES: tuple[str, ...] = ("intake", "eligibility", "statistics")
"""The services, each with its own PostgreSQL schema and login role of the same name."""

SERVICE_PORTS: dict[str, int] = {"intake": 8001, "eligibility": 8002, "statistics": 8000}
"""Each service's default HTTP port (statistics has the live page, so it gets the round number)."""

DATABASE_NAME = "amnesty"

_PROJECT_MARKER = Path("deploy") / "kafka" / "pom.xml"


def find_project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` (default: the working directory) holding the project."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / _PROJECT_MARKER).is_file():
            return candidate
    return here


class InfraSettings(BaseSettings):
    """Where Kafka and PostgreSQL are, and how the local stack runs when they are not given."""

    model_config = SettingsConfigDict(env_prefix="AMNESTY_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="Admin URL of an existing PostgreSQL database; when set, no local PostgreSQL starts.",
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        description="Bootstrap servers of an existing Kafka cluster; when set, no local broker starts.",
    )
    kafka_security_protocol: SecurityProtocol | None = Field(
        default=None,
        description="How clients reach KAFKA_BOOTSTRAP_SERVERS: PLAINTEXT (default without a SASL user), "
        "SASL_PLAINTEXT (default with one), SASL_SSL or SSL (TLS, with kafka_ssl_cafile).",
    )
    kafka_sasl_mechanism: SaslMechanism = SCRAM_SHA_512
    kafka_sasl_username: str | None = Field(
        default=None,
        description="The Kafka principal this process logs in as (containers, external brokers).",
    )
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_password_file: Path | None = Field(
        default=None, description="A file holding the SASL password (a compose/Kubernetes secret)."
    )
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA certificate of the brokers (TLS).")
    intake_database_url: str | None = None
    eligibility_database_url: str | None = None
    statistics_database_url: str | None = None
    home: Path = Field(default_factory=find_project_root, description="The project's root directory.")
    local_dir: Path | None = Field(default=None, description="Data, logs and jars of the local stack.")
    pg_port: Port = 54329
    kafka_port: Port = 19092
    kafka_controller_port: Port = 19093
    kafka_proxied_port: Port | None = Field(
        default=None,
        description="An extra client listener of the local broker on this port, advertised at "
        "kafka_proxy_port: for a TCP proxy in front of the broker (clients reconnect to the address the "
        "broker advertises, so a proxy given only as the bootstrap address would be bypassed).",
    )
    kafka_proxy_port: Port | None = Field(
        default=None, description="Where the proxy of kafka_proxied_port listens (the advertised port)."
    )
    kafka_heap: str = Field(default="768m", description="The local broker's -Xmx (the machine has 2 cores).")
    pg_stat_statements: bool = Field(
        default=False,
        description="The local PostgreSQL loads pg_stat_statements (read at its start), for bench_e2e's "
        "breakdown of the server's time by statement.",
    )
    topic_partitions: int = Field(default=6, ge=1)
    upstream_retention_days: float = Field(
        default=30,
        gt=0,
        description="How long amnesty.upstream.v1 keeps submissions, raw identifiers and all: time enough "
        "to replay them after an incident (intake records them within seconds).",
    )
    rejected_retention_days: float = Field(
        default=90,
        gt=0,
        description="How long amnesty.rejected.v1 keeps rejected messages with their original bytes: the "
        "window for a fix and a re-drive (amnesty rejected redrive).",
    )
    ready_timeout_s: float = Field(default=120.0, gt=0)

    @property
    def local(self) -> Path:
        """The ignored folder under the project root where the local stack keeps everything."""
        return self.local_dir or self.home / ".local"

    def service_database_url_override(self, service: str) -> str | None:
        """AMNESTY_<SERVICE>_DATABASE_URL, when the operator gives a service its own credentials."""
        value: str | None = getattr(self, f"{service}_database_url")
        return value

    @property
    def raw_retention_days(self) -> dict[str, float]:
        """The retention of each topic that holds raw identifiers (the domain topics keep everything)."""
        return {UPSTREAM: self.upstream_retention_days, REJECTED: self.rejected_retention_days}

    def kafka_client_options(self, bootstrap_servers: str) -> KafkaClientOptions | None:
        """The client options given by the environment (AMNESTY_KAFKA_SASL_USERNAME and friends), or None
        when it names no principal and no protocol (then the local stack's credentials files apply, or
        PLAINTEXT for an external broker)."""
        if self.kafka_sasl_username is None and self.kafka_security_protocol is None:
            return None
        password = None
        if self.kafka_sasl_password is not None:
            password = self.kafka_sasl_password.get_secret_value()
        elif self.kafka_sasl_password_file is not None:
            password = self.kafka_sasl_password_file.read_text().strip()
        protocol = self.kafka_security_protocol or (
            "SASL_PLAINTEXT" if self.kafka_sasl_username else "PLAINTEXT"
        )
        return KafkaClientOptions(
            bootstrap_servers,
            protocol,
            self.kafka_sasl_mechanism,
            self.kafka_sasl_username,
            password,
            self.kafka_ssl_cafile,
        )

    @property
    def kafka_pom(self) -> Path:
        return self.home / _PROJECT_MARKER


class ServiceSettings(BaseSettings):
    """What every service sets for itself; each service subclasses it with its own env prefix and port.

    One object per service, read once at start: where Kafka and PostgreSQL are (``infra``, with its own
    variables) is part of it.
    """

    model_config = SettingsConfigDict(extra="ignore")

    infra: InfraSettings = Field(default_factory=InfraSettings, exclude=True)
    http_host: str = Field(default="127.0.0.1", description="Interface to bind; 0.0.0.0 inside a container.")
    http_port: Port
    http_concurrency: int = Field(
        default=200, gt=0, description="Connections and requests at once; past it the server answers 503."
    )
    http_keep_alive_seconds: float = Field(
        default=5.0, gt=0, description="Idle keep-alive connections close."
    )
    http_request_head_seconds: float = Field(
        default=10.0, gt=0, description="A request line and headers not complete by then: connection closed."
    )
    log_json: bool | None = Field(
        default=None,
        description="JSON lines (true) or readable lines (false); unset: JSON unless at a terminal.",
    )
    log_level: LogLevel = "INFO"
    log_file: Path | None = Field(
        default=None, description="Write the log to this file, rotated by size, instead of to stderr."
    )
    log_file_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0, description="Size at which it rotates.")
    log_file_backups: int = Field(default=5, ge=1, description="Rotated files kept: <file>.1 .. <file>.N.")
    signing_key_file: Path | None = Field(
        default=None,
        description="The service's own event-signing key (hex, 32+ bytes): what its outbox relay signs with.",
    )
    verifying_key_files: dict[str, list[Path]] = Field(
        default_factory=dict,
        description="The keys accepted per producer whose events the service consumes, e.g. "
        '{"intake": ["/run/secrets/signing-intake.key"]}; several during a rotation.',
    )
    instance_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="This instance's stable name in its consumer groups, e.g. intake-2 (static membership: "
        "a restart under it within the session timeout takes its partitions back without a rebalance); "
        "{hostname} in it stands for the host's name, e.g. intake-{hostname} for a container that keeps "
        "its hostname across restarts. Unset: a dynamic member, whose partitions move as soon as it stops.",
    )
    session_timeout_s: float = Field(
        default=30.0,
        ge=6,
        le=1800,
        description="How long the group waits for a silent member before its partitions move to the "
        "others: long enough for a restart, short enough for a dead instance (the broker's bounds: 6 s "
        "to 30 min).",
    )

    batch_wait_ms: int = Field(
        default=50,
        ge=0,
        le=500,
        description="How long the broker may hold a fetch to gather a batch when records trickle in: "
        "batches of many messages instead of one each, for at most this much latency per hop; a backlog is "
        "served at once. 0: each fetch answers with the first record.",
    )

    @field_validator("instance_id")
    @classmethod
    def _hostname_expanded(cls, value: str | None) -> str | None:
        return None if value is None else value.replace("{hostname}", socket.gethostname())

    @property
    def membership(self) -> Membership:
        """How this instance joins its consumer groups."""
        return Membership(self.instance_id, int(self.session_timeout_s * 1000))

    @property
    def fetching(self) -> Fetching:
        """How this instance's consumers fetch their batches."""
        return Fetching(self.batch_wait_ms)

    def server_limits(self) -> ServerLimits:
        """The HTTP server's limits, from these settings."""
        return ServerLimits(
            concurrency=self.http_concurrency,
            keep_alive_s=self.http_keep_alive_seconds,
            request_head_s=self.http_request_head_seconds,
        )


def refused_settings(exc: ValidationError, *read: type[BaseSettings]) -> list[str]:
    """A line per setting that its settings object refused, naming its environment variable when the
    object is one of ``read`` (or the infrastructure's, which every service reads inside its own); never
    the value, which may be a key or a token."""
    models: tuple[type[BaseSettings], ...] = (*read, InfraSettings)
    refusing = next((m for m in models if m.__name__ == exc.title), None)
    prefix = str(refusing.model_config.get("env_prefix") or "") if refusing is not None else ""
    lines = []
    aliases = _aliases(refusing) if refusing is not None else set()
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        if where in aliases:  # a field read from a variable of its own name (AMNESTY_PROFILE)
            lines.append(f"Error: invalid setting {where} of {exc.title}: {error['msg']}")
            continue
        variable = f" ({prefix}{where.upper()})" if prefix and len(error["loc"]) == 1 else ""
        lines.append(f"Error: invalid setting {where}{variable} of {exc.title}: {error['msg']}")
    return lines


def _aliases(model: type[BaseSettings]) -> set[str]:
    return {f.validation_alias for f in model.model_fields.values() if isinstance(f.validation_alias, str)}


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def settings_or_exit(settings: type[SettingsT]) -> SettingsT:
    """A service's settings from its environment; on a refused one, a line per setting on stderr and exit
    2 (as for a bad option), instead of a traceback that would also print the value."""
    try:
        read = settings()
    except ValidationError as exc:
        for line in refused_settings(exc, settings):
            print(line, file=sys.stderr)
        raise SystemExit(2) from None
    # The whole environment, to find what pydantic-settings ignores: no setting is read from it here.
    for variable in unknown_variables(settings, os.environ):  # noqa: TID251
        print(f"Warning: {variable} is no setting of {settings.__name__}; ignored", file=sys.stderr)
    return read


def unknown_variables(settings: type[BaseSettings], environment: Mapping[str, str]) -> list[str]:
    """The variables under the settings' own prefix (``AMNESTY_INTAKE_``) that name none of its
    settings: a misspelled one (``AMNESTY_INTAKE_HTTP_PROT``) was ignored without a word. Not refused:
    the infrastructure's settings (``AMNESTY_INTAKE_DATABASE_URL``) and the service's address for
    tools (``AMNESTY_INTAKE_URL``) share the prefix."""
    prefix = str(settings.model_config.get("env_prefix") or "").upper()
    if not prefix:
        return []
    known = {f"{prefix}{name}".upper() for name in settings.model_fields}
    known |= {f"AMNESTY_{name}".upper() for name in InfraSettings.model_fields}
    known |= {alias.upper() for alias in _aliases(settings)} | {f"{prefix}URL"}
    return sorted(v for v in environment if v.upper().startswith(prefix) and v.upper() not in known)
