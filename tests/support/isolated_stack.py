"""A Kafka broker and PostgreSQL server of a test module's own, which its tests may kill and restart.

Own ports, own data folder (``second_stack_dir``: beside the project's .local/, which the servers' own
system users can traverse), own Kafka credentials and PostgreSQL passwords (written by its `stack up` under
its own secrets folder, as the normal stack does), so the session stack the rest of the suite uses is
never disturbed. The broker has an extra
listener advertised at a proxy's port (see ``tests.support.tcp_proxy``): a client cut off by that proxy
reconnects through it, not around it.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass

import psutil

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import Endpoints, Stack
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.ports import free_port
from amnesty_runtime.stack.principals import ADMIN
from amnesty_runtime.stack.processes import ProcessRecord
from amnesty_runtime.stack.topics import wait_for_kafka
from tests.support.small_disk import SmallDisk, small_disk
from tests.support.stack_dirs import second_stack_dir


@dataclass
class IsolatedStack:
    stack: Stack
    kafka_proxy_port: int
    """Where a proxy in front of the broker's extra listener must listen (its advertised port)."""
    pg_disk: SmallDisk | str
    """The small disk PostgreSQL's folder lives on, or why there is none."""

    @property
    def endpoints(self) -> Endpoints:
        return self.stack.endpoints

    @property
    def kafka_proxied_port(self) -> int:
        port = self.stack.settings.kafka_proxied_port
        assert port is not None
        return port

    def kill_kafka(self) -> None:
        """SIGKILL the broker: no controlled shutdown, unflushed log segments recovered at restart."""
        _kill(self.stack.kafka.running(), "kafka")

    async def start_kafka(self) -> None:
        admin_password = self.endpoints.kafka_credentials.passwords()[ADMIN]  # kept since `up`
        broker = self.stack.kafka.start(admin_password)
        await wait_for_kafka(self.endpoints.kafka_admin, 120, alive=broker.alive)

    def kill_postgres(self) -> None:
        """SIGKILL the postmaster: its backends die when they notice, crash recovery runs at restart."""
        _kill(self.stack.postgres.running(), "postgres")

    def postgres_running(self) -> bool:
        return self.stack.postgres.running() is not None

    async def start_postgres(self, timeout_s: float = 90.0) -> None:
        # Orphaned backends of the killed postmaster hold its shared memory for a moment; until they have
        # gone, a new postmaster refuses to start.
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.stack.postgres.start()
                return
            except StackError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)


def _kill(record: ProcessRecord | None, what: str) -> None:
    assert record is not None, f"{what} is not running"
    process = psutil.Process(record.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(30)


@asynccontextmanager
async def isolated_stack(pg_disk_bytes: int | None = None) -> AsyncIterator[IsolatedStack]:
    """A stack started on free ports in a fresh folder; stopped and its folder removed afterwards. With
    ``pg_disk_bytes``, PostgreSQL's folder is a small disk of that size (where one can be mounted)."""
    with second_stack_dir("isolated") as folder, ExitStack() as disks:
        pg_disk: SmallDisk | str = "no small disk was asked for"
        if pg_disk_bytes is not None:
            pg_disk = disks.enter_context(small_disk(folder / "pg", pg_disk_bytes))
        proxy_port = free_port()
        settings = InfraSettings(
            database_url=None,
            kafka_bootstrap_servers=None,
            local_dir=folder,
            pg_port=free_port(),
            kafka_port=free_port(),
            kafka_controller_port=free_port(),
            kafka_proxied_port=free_port(),
            kafka_proxy_port=proxy_port,
            kafka_heap="384m",
            topic_partitions=3,
        )
        # The broker's jars as the session stack resolves them (same pom, resolved once), so Maven need
        # not run for every module that has a stack of its own.
        shared = Stack(InfraSettings()).kafka
        shared.resolve_jars()
        shutil.copytree(shared.libs, folder / "kafka" / "libs")
        stack = Stack(settings)
        try:
            await stack.up()
            yield IsolatedStack(stack, proxy_port, pg_disk)
        finally:
            stack.down()
