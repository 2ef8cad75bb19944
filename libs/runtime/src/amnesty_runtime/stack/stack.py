"""The local stack as one thing: up (idempotent), down (exactly what it started), status."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.settings import SERVICES, InfraSettings
from amnesty_runtime.stack.endpoints import Endpoints, resolve
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.kafka import LocalKafka
from amnesty_runtime.stack.kafka_access import provision_access
from amnesty_runtime.stack.owner_only import tighten
from amnesty_runtime.stack.ports import LOOPBACK, free_port
from amnesty_runtime.stack.postgres import LocalPostgres
from amnesty_runtime.stack.principals import ADMIN
from amnesty_runtime.stack.processes import ProcessRecord, ProcessTable
from amnesty_runtime.stack.provisioning import ensure_dashboard_reader, ensure_database, ensure_service_roles
from amnesty_runtime.stack.services import SIMULATOR, LocalProcesses, is_ready
from amnesty_runtime.stack.topics import contract_topics, ensure_topics, wait_for_kafka


@dataclass(frozen=True)
class StartReport:
    """What `up` did and how long each part took to become ready (seconds from the call)."""

    endpoints: Endpoints
    postgres_ready_s: float
    kafka_ready_s: float
    topics_created: list[str]


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    state: str
    address: str
    pid: int | None
    detail: str


DASHBOARD_READER = "grafana"
"""The read-only login the local stack provisions for dashboards, as compose does for Grafana."""


class Stack:
    """Kafka and PostgreSQL for the system: local processes, or the infrastructure the settings name."""

    def __init__(self, settings: InfraSettings) -> None:
        self.settings = settings
        self.table = ProcessTable(settings.local / "stack.json")
        self.postgres = LocalPostgres(settings, self.table)
        self.kafka = LocalKafka(settings, self.table)
        self.processes = LocalProcesses(settings, self.table)

    @property
    def endpoints(self) -> Endpoints:
        return resolve(self.settings)

    async def up(self) -> StartReport:
        """Start what is local and not running, provision schemas and topics, wait until both answer."""
        started = time.monotonic()
        endpoints = self.endpoints
        # Trees an earlier version left readable to others (Kafka and PostgreSQL tighten their own).
        for tree in (self.settings.local / "secrets", self.processes.logs):
            tighten(tree)
        broker = await self._start_kafka(endpoints) if endpoints.local_kafka else None
        if endpoints.local_postgres:
            self.postgres.start()
            await ensure_database(_maintenance_url(endpoints.admin_database_url))
        await ensure_service_roles(
            endpoints.admin_database_url,
            {
                s: endpoints.service_password(s)
                for s in SERVICES
                if self.settings.service_database_url_override(s) is None
            },
        )
        if endpoints.local_postgres:
            await ensure_dashboard_reader(
                endpoints.admin_database_url, DASHBOARD_READER, endpoints.role_password(DASHBOARD_READER)
            )
        postgres_ready = time.monotonic() - started
        try:
            await wait_for_kafka(
                endpoints.kafka_admin, self.settings.ready_timeout_s, alive=broker.alive if broker else None
            )
        except StackError as exc:
            if broker is None or broker.alive():
                raise
            # Why it exited is in its log (a port taken, a storage it could not read): shown here, since
            # the data folder may be gone by the time anyone looks (a test's, a CI machine's).
            raise StackError(f"{exc}\n{self.kafka.log_tail()}") from exc
        if endpoints.local_kafka:
            await provision_access(endpoints.kafka_admin, endpoints.kafka_credentials.passwords())
        kafka_ready = time.monotonic() - started
        created = await ensure_topics(
            endpoints.kafka_admin,
            contract_topics(self.settings.topic_partitions, self.settings.raw_retention_days),
        )
        return StartReport(endpoints, postgres_ready, kafka_ready, created)

    async def _start_kafka(self, endpoints: Endpoints) -> ProcessRecord:
        """The local broker with SASL/SCRAM and ACLs, every principal's credentials file written first.

        A storage formatted before SCRAM (no admin user in its metadata) is upgraded in place, keeping
        its topics and offsets: started once with an extra loopback PLAINTEXT listener whose anonymous
        user is super, given the users over it, then restarted without that listener. Reformatting
        would be simpler but would drop the topics, which PostgreSQL's state (outbox positions,
        projection checkpoints) refers to.
        """
        credentials = endpoints.kafka_credentials
        passwords = credentials.passwords()
        credentials.write(endpoints.kafka_bootstrap_servers, passwords)
        if self.kafka.needs_scram_upgrade():
            self.kafka.stop()
            upgrade_port = free_port()
            broker = self.kafka.start(passwords[ADMIN], upgrade_port=upgrade_port)
            try:
                anonymous = KafkaClientOptions(f"{LOOPBACK}:{upgrade_port}")
                await wait_for_kafka(anonymous, self.settings.ready_timeout_s, alive=broker.alive)
                await provision_access(anonymous, passwords)
            finally:
                self.kafka.stop()
            self.kafka.mark_scram_ready()
        return self.kafka.start(passwords[ADMIN])

    def down(self) -> list[str]:
        """Stop the processes this stack started (by recorded pid), users before infrastructure."""
        stopped = self.processes.stop(self.processes.users())
        stopped += [
            name
            for name, local in (("kafka", self.kafka.running()), ("postgres", self.postgres.running()))
            if local is not None
        ]
        self.kafka.stop()
        self.postgres.stop()
        return stopped

    def status(self) -> list[ComponentStatus]:
        endpoints = self.endpoints
        rows = []
        for name, local, component, address in (
            ("postgres", endpoints.local_postgres, self.postgres, _redacted(endpoints.admin_database_url)),
            ("kafka", endpoints.local_kafka, self.kafka, endpoints.kafka_bootstrap_servers),
        ):
            if not local:
                rows.append(ComponentStatus(name, "external", address, None, "given by the environment"))
                continue
            record = component.running()
            state = "running" if record else "stopped"
            rows.append(
                ComponentStatus(name, state, address, record.pid if record else None, str(component.log))
            )
        # The demo's processes, when this stack started them: every instance, ready or not.
        for record in self.processes.instances():
            port = urlsplit(record.address).port
            state = "ready" if port is not None and is_ready(port, timeout_s=1.0) else "not-ready"
            log = str(self.processes.logs / f"{record.name}.log")
            rows.append(ComponentStatus(record.name, state, record.address, record.pid, log))
        simulator = self.processes.running(SIMULATOR)
        if simulator is not None:
            log = str(self.processes.logs / f"{SIMULATOR}.log")
            rows.append(ComponentStatus(SIMULATOR, "running", simulator.address, simulator.pid, log))
        return rows


def _maintenance_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    credentials, at, servers = parts.netloc.rpartition("@")
    user, colon, _password = credentials.partition(":")
    netloc = f"{user}:***@{servers}" if colon else parts.netloc
    return urlunsplit((parts.scheme, netloc if at else parts.netloc, parts.path, "", ""))
