"""The system's own processes for the demo: the three services and the simulator, started and stopped here.

They are recorded in the same process table as Kafka and PostgreSQL, so `amnesty stack down` (and
`make down`) ends them too, first, before the infrastructure they use.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.owner_only import OWNER_ONLY_UMASK, open_owner_only, tighten
from amnesty_runtime.stack.ports import LOOPBACK, require_free
from amnesty_runtime.stack.processes import ProcessRecord, ProcessTable
from amnesty_runtime.stack.signing_keys import service_key_environment

SIMULATOR = "simulator"


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

    def start_service(self, service: str, port: int, env: dict[str, str]) -> ProcessRecord:
        if self.running(service) is None:
            require_free(port, f"The {service} service", f"AMNESTY_{service.upper()}_HTTP_PORT")
        return self.start(
            service,
            [f"amnesty-{service}"],
            self.service_environment(service, port, env),
            output=f"{service}.console.log",
        )

    def service_environment(self, service: str, port: int, env: dict[str, str]) -> dict[str, str]:
        """A service's environment: its port, its keys (``signing_keys``), and its log in
        ``<service>.log``, which the service itself rotates by size (a file the parent opened for it
        could never be rotated: the child's descriptor would keep writing to the renamed file). What it
        prints outside its log, e.g. a crash before the log is set up, goes to ``<service>.console.log``."""
        prefix = f"AMNESTY_{service.upper()}"
        return (
            {f"{prefix}_LOG_FILE": str(self.logs / f"{service}.log")}
            | service_key_environment(service, self._secrets)
            | env
            | {f"{prefix}_HTTP_PORT": str(port)}
        )

    def wait_ready(self, service: str, port: int, timeout_s: float) -> None:
        """Poll /readyz until 200; fail with the log's tail if the process dies or the time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.running(service) is None:
                raise StackError(f"{service} exited while starting:\n{self.log_tail(service)}")
            try:
                with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise StackError(f"{service} was not ready within {timeout_s:.0f}s:\n{self.log_tail(service)}")

    def log_tail(self, name: str, chars: int = 3000) -> str:
        """The end of what the process printed and of its log."""
        paths = [self.logs / f"{name}.console.log", self.logs / f"{name}.log"]
        return "".join(p.read_text(errors="replace")[-chars:] for p in paths if p.exists())

    def stop(self, names: list[str]) -> list[str]:
        """SIGTERM each that runs and wait for it; returns the names stopped."""
        stopped = []
        for name in names:
            record = self.running(name)
            if record is not None:
                record.stop(timeout_s=30)
                stopped.append(name)
            self._table.remove(name)
        return stopped
