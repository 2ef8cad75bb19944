"""Where everything is: the given infrastructure, or the local stack's addresses and generated credentials."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from amnesty_runtime.settings import DATABASE_NAME, SERVICES, InfraSettings
from amnesty_runtime.stack.ports import LOOPBACK
from amnesty_runtime.stack.secrets import local_secret


@dataclass(frozen=True)
class Endpoints:
    """Connection details for Kafka and PostgreSQL, and whether each is the local stack's."""

    kafka_bootstrap_servers: str
    admin_database_url: str
    service_database_urls: dict[str, str]
    local_kafka: bool
    local_postgres: bool

    def database_url(self, service: str) -> str:
        return self.service_database_urls[service]


def with_credentials(url: str, user: str, password: str) -> str:
    """The same server and database as ``url``, logged in as another role."""
    parts = urlsplit(url)
    host = parts.hostname or LOOPBACK
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def service_password(settings: InfraSettings, service: str) -> str:
    return local_secret(settings.local / "secrets", f"db-{service}.password")


def resolve(settings: InfraSettings) -> Endpoints:
    """The endpoints everything should use; starts nothing."""
    local_postgres = settings.database_url is None
    if settings.database_url is not None:
        admin = settings.database_url
    else:
        password = local_secret(settings.local / "secrets", "db-postgres.password")
        admin = (
            f"postgresql://postgres:{quote(password, safe='')}@{LOOPBACK}:{settings.pg_port}/{DATABASE_NAME}"
        )
    services = {
        s: settings.service_database_url_override(s)
        or with_credentials(admin, s, service_password(settings, s))
        for s in SERVICES
    }
    return Endpoints(
        kafka_bootstrap_servers=settings.kafka_bootstrap_servers or f"{LOOPBACK}:{settings.kafka_port}",
        admin_database_url=admin,
        service_database_urls=services,
        local_kafka=settings.kafka_bootstrap_servers is None,
        local_postgres=local_postgres,
    )
