"""Where everything is: the given infrastructure, or the local stack's addresses and generated credentials."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.settings import DATABASE_NAME, InfraSettings
from amnesty_runtime.stack.kafka_credentials import KafkaCredentials
from amnesty_runtime.stack.ports import LOOPBACK
from amnesty_runtime.stack.principals import ADMIN
from amnesty_runtime.stack.secrets import local_secret


def with_credentials(url: str, user: str, password: str) -> str:
    """The same server and database as ``url``, logged in as another role."""
    parts = urlsplit(url)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{server_part(url) or LOOPBACK}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def server_part(url: str) -> str:
    """The hosts and ports of ``url`` as written (``[::1]:5432``, ``h1:5432,h2:5432``): what follows
    the credentials. urlsplit's hostname drops an IPv6 address's brackets, and its port refuses the
    several hosts libpq and asyncpg take."""
    return urlsplit(url).netloc.rpartition("@")[2]


@dataclass(frozen=True)
class Endpoints:
    """Connection details for Kafka and PostgreSQL, and whether each is the local stack's.

    Database URLs are worked out on demand, so a service given only its own URL (a container) never needs
    the admin URL nor writes a generated password anywhere.
    """

    settings: InfraSettings

    @property
    def kafka_bootstrap_servers(self) -> str:
        return self.settings.kafka_bootstrap_servers or f"{LOOPBACK}:{self.settings.kafka_port}"

    @property
    def local_kafka(self) -> bool:
        return self.settings.kafka_bootstrap_servers is None

    def kafka_client_options(self, principal: str) -> KafkaClientOptions:
        """How a Kafka client logs in as ``principal`` (a service, upstream, operator or admin).

        The environment's credentials (AMNESTY_KAFKA_SASL_*) win: a container or an external cluster
        says who the process is. Else the local stack's file for that principal; else an external
        broker without authentication (KAFKA_BOOTSTRAP_SERVERS alone): PLAINTEXT, as before SASL.
        """
        given = self.settings.kafka_client_options(self.kafka_bootstrap_servers)
        if given is not None:
            return given
        if self.local_kafka:
            return self.kafka_credentials.options(principal)
        return KafkaClientOptions(self.kafka_bootstrap_servers)

    @property
    def kafka_admin(self) -> KafkaClientOptions:
        """The stack's (and the test fixtures') super user: topics, users, ACLs."""
        return self.kafka_client_options(ADMIN)

    @property
    def kafka_credentials(self) -> KafkaCredentials:
        return KafkaCredentials(self.settings.local / "secrets")

    @property
    def local_postgres(self) -> bool:
        return self.settings.database_url is None

    @property
    def admin_database_url(self) -> str:
        if self.settings.database_url is not None:
            return self.settings.database_url
        return with_credentials(self._local_url(), "postgres", self._secret("db-postgres.password"))

    def service_password(self, service: str) -> str:
        """The password `stack up` gives a service's role (generated once, kept under .local/secrets)."""
        return self._secret(f"db-{service}.password")

    def database_url(self, service: str) -> str:
        """The service's login: AMNESTY_<SERVICE>_DATABASE_URL, else its role on the admin URL's server."""
        override = self.settings.service_database_url_override(service)
        if override is not None:
            return override
        if self.local_postgres:
            # Built from the address alone: working out the admin URL would read the superuser's password,
            # which a service must never hold.
            return with_credentials(self._local_url(), service, self.service_password(service))
        return with_credentials(self.admin_database_url, service, self.service_password(service))

    def role_password(self, role: str) -> str:
        """The password `stack up` gives a local role that is not a service's (e.g. Grafana's)."""
        return self._secret(f"db-{role}.password")

    def reader_url(self, role: str) -> str:
        """The local login of such a role."""
        return with_credentials(self._local_url(), role, self.role_password(role))

    def _local_url(self) -> str:
        return f"postgresql://{LOOPBACK}:{self.settings.pg_port}/{DATABASE_NAME}"

    def _secret(self, name: str) -> str:
        return local_secret(self.settings.local / "secrets", name)


def resolve(settings: InfraSettings) -> Endpoints:
    """The endpoints everything should use; starts nothing."""
    return Endpoints(settings)
