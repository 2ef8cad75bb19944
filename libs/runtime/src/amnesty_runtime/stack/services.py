"""The system's own processes for the demo: N instances of each of the three services and the simulator,
started and stopped here.

They are recorded in the same process table as Kafka and PostgreSQL, so `amnesty stack down` (and
`make down`) ends them too, first, before the infrastructure they use.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from amnesty_runtime.settings import SERVICES, InfraSettings
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.owner_only import OWNER_ONLY_UMASK, open_owner_only, tighten
from amnesty_runtime.stack.ports import LOOPBACK, require_free
from amnesty_runtime.stack.processes import ProcessRecord, ProcessTable
from amnesty_runtime.stack.signing_keys import service_key_environment

SIMULATOR = "simulator"
INFRASTRUCTURE = ("kafka", "postgres")

MAX_REPLICAS = 8
PORT_STRIDE = 10
"""Instance n of a service listens on its base port + 10 (n - 1): statistics 8000, 8010, ..., intake 8001,
8011, ..., eligibility 8002, 8012, ...; up to 8 instances, no two services' ports meet."""


@dataclass(frozen=True)
class Instance:
    """One process of a service: ``<service>-<n>`` in the process table, its log and its consumer groups."""

    service: str
    number: int
    port: int

    @property
    def name(self) -> str:
        return f"{self.service}-{self.number}"

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


def instances(base_ports: dict[str, int], replicas: int) -> list[Instance]:
    """``replicas`` instances of each service, numbered from 1, on ports from each service's base port."""
    if not 1 <= replicas <= MAX_REPLICAS:
        raise StackError(f"replicas must be 1..{MAX_REPLICAS}, not {replicas}")
    planned = [
        Instance(service, n, port + PORT_STRIDE * (n - 1))
        for service, port in base_ports.items()
        for n in range(1, replicas + 1)
    ]
    ports = [i.port for i in planned]
    if max(ports) > 65535:
        raise StackError(
            f"the services' ports {sorted(base_ports.values())} leave no room for {replicas} instances each "
            f"(instance n listens on the base port + {PORT_STRIDE}(n - 1), at most 65535)"
        )
    if len(set(ports)) != len(ports):
        raise StackError(
            f"the services' ports {sorted(base_ports.values())} are too close for {replicas} instances each: "
            f"instance n listens on the base port + {PORT_STRIDE}(n - 1)"
        )
    return planned


def is_ready(port: int, timeout_s: float = 2.0) -> bool:
    """Whether the instance on ``port`` answers /readyz with 200."""
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/readyz", timeout=timeout_s) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _instance_order(name: str) -> tuple[int, int]:
    """Services in their order, instances by number; anything else after them."""
    service, _, number = name.rpartition("-")
    if service in SERVICES and number.isdigit():
        return SERVICES.index(service), int(number)
    return len(SERVICES), 0


class LocalProcesses:
    """Start console scripts of this environment as detached, recorded processes with their own logs."""

    def __init__(self, settings: InfraSettings, table: ProcessTable) -> None:
        self._table = table
        self.logs = settings.local / "logs"
        self._secrets = settings.local / "secrets"

    def running(self, name: str) -> ProcessRecord | None:
        record = self._table.get(name)
        return record if record is not None and record.alive() else None

    def start(
        self, name: str, argv: list[str], env: dict[str, str], address: str = "", output: str | None = None
    ) -> ProcessRecord:
        """Start ``argv`` (its first item a console script of this environment) unless it already runs;
        its stdout and stderr go to ``output`` in the logs folder (default ``<name>.log``)."""
        record = self.running(name)
        if record is not None:
            return record
        self.logs.mkdir(parents=True, exist_ok=True)
        tighten(self.logs)
        executable = Path(sys.executable).parent / argv[0]
        with open(open_owner_only(self.logs / (output or f"{name}.log")), "ab") as out:
            process = subprocess.Popen(
                [str(executable), *argv[1:]],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                # The log the service writes (and rotates) itself is created owner-only too.
                umask=OWNER_ONLY_UMASK,
            )
        record = ProcessRecord.of(name, process.pid, address)
        self._table.put(record)
        return record

    def start_instance(self, instance: Instance, env: dict[str, str]) -> ProcessRecord:
        """Start one instance of a service unless it already runs, recorded under its name."""
        if self.running(instance.name) is None:
            variable = f"AMNESTY_{instance.service.upper()}_HTTP_PORT"
            require_free(instance.port, f"The {instance.name} instance", variable)
        return self.start(
            instance.name,
            [f"amnesty-{instance.service}"],
            self.instance_environment(instance, env),
            address=instance.url,
            output=f"{instance.name}.console.log",
        )

    def instance_environment(self, instance: Instance, env: dict[str, str]) -> dict[str, str]:
        """An instance's environment: its port, its instance id (its static membership in the service's
        consumer group), its service's keys (``signing_keys``) and its log in ``<service>-<n>.log``, which
        the service itself rotates by size (a file the parent opened for it could never be rotated: the
        child's descriptor would keep writing to the renamed file). A log file the operator named gets the
        instance's number, as two processes must not rotate one file. What it prints outside its log,
        e.g. a crash before the log is set up, goes to ``<service>-<n>.console.log``. On Kafka it logs in
        as its service's principal (``Endpoints.kafka_client_options``), every instance alike."""
        prefix = f"AMNESTY_{instance.service.upper()}"
        chosen = env.get(f"{prefix}_LOG_FILE")
        log = Path(chosen).with_stem(f"{Path(chosen).stem}-{instance.number}") if chosen else None
        return (
            service_key_environment(instance.service, self._secrets)
            | env
            | {f"{prefix}_LOG_FILE": str(log or self.logs / f"{instance.name}.log")}
            | {f"{prefix}_HTTP_PORT": str(instance.port), f"{prefix}_INSTANCE_ID": instance.name}
        )

    def wait_ready(self, instance: Instance, timeout_s: float) -> None:
        """Poll /readyz until 200; fail with the log's tail if the process dies or the time runs out."""
        name = instance.name
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.running(name) is None:
                raise StackError(f"{name} exited while starting:\n{self.log_tail(name)}")
            if is_ready(instance.port):
                return
            time.sleep(0.2)
        raise StackError(f"{name} was not ready within {timeout_s:.0f}s:\n{self.log_tail(name)}")

    def instances(self) -> list[ProcessRecord]:
        """The service instances this stack started and that still run, by name."""
        return [
            record
            for name in sorted(self._table.names(), key=_instance_order)
            if _instance_order(name)[0] < len(SERVICES) and (record := self.running(name)) is not None
        ]

    def log_tail(self, name: str, chars: int = 3000) -> str:
        """The end of what the process printed and of its log."""
        paths = [self.logs / f"{name}.console.log", self.logs / f"{name}.log"]
        return "".join(p.read_text(errors="replace")[-chars:] for p in paths if p.exists())

    def users(self) -> list[str]:
        """Every recorded process that is not infrastructure: the simulator first, then the instances."""
        names = [n for n in self._table.names() if n not in INFRASTRUCTURE]
        return sorted(names, key=lambda n: (n != SIMULATOR, _instance_order(n)))

    def stop(self, names: list[str]) -> list[str]:
        """SIGTERM each that runs and wait for it; returns the names stopped."""
        stopped = []
        for name in names:
            record = self.running(name)
            if record is not None:
                record.stop(timeout_s=30, group=True)
                stopped.append(name)
            self._table.remove(name)
        return stopped
