"""A service of the local stack logs in as its own role and holds nothing of the superuser's: not in its
environment, and it never reads the superuser's password to work out its own URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Stack
from amnesty_runtime.stack.ports import free_port
from amnesty_runtime.stack.services import Instance
from tests.security.conftest import loose_paths, process_of, umask_of
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

SERVICE = "statistics"
INSTANCE = f"{SERVICE}-1"
"""As `amnesty demo` names the first instance of the service."""


@pytest.fixture(scope="module")
def service(local_stack: Stack) -> Iterator[psutil.Process]:
    """The statistics service started as `amnesty demo` starts it, with the environment of this run."""
    already = local_stack.processes.running(INSTANCE)
    instance = Instance(SERVICE, 1, free_port())
    if already is None:
        env = {k: v for k, v in os.environ.items() if "DATABASE_URL" not in k}  # noqa: TID251 - as the demo does
        local_stack.processes.start_instance(instance, env)
        local_stack.processes.wait_ready(instance, 120)
    yield process_of(local_stack, INSTANCE)
    if already is None:
        local_stack.processes.stop([INSTANCE])


def test_the_services_environment_holds_no_admin_password(
    local_stack: Stack, service: psutil.Process
) -> None:
    admin_password = (local_stack.settings.local / "secrets" / "db-postgres.password").read_text().strip()
    environment = Path(f"/proc/{service.pid}/environ").read_bytes()
    assert admin_password.encode() not in environment
    assert b"postgresql://postgres:" not in environment


async def test_the_service_logs_in_as_its_own_role_only(
    admin_pool: Pool, service: psutil.Process, local_stack: Stack
) -> None:
    # This process's own sessions, by their client ports: other tests' services may be connected too.
    # Only its connections to PostgreSQL: the local port of one to Kafka may also be the client port of
    # another process's session (a port is reused towards another address), and was once the admin's.
    def own_ports() -> list[int]:
        return [
            c.laddr.port
            for c in service.net_connections(kind="tcp")
            if c.raddr and c.raddr.port == local_stack.settings.pg_port
        ]

    roles = await eventually(
        lambda: admin_pool.fetch(
            "SELECT DISTINCT usename FROM pg_stat_activity WHERE client_port = ANY($1::int[])", own_ports()
        ),
        lambda rows: len(rows) > 0,
    )
    assert [r["usename"] for r in roles] == [SERVICE]


def test_the_services_logs_are_owner_only(local_stack: Stack, service: psutil.Process) -> None:
    logs = local_stack.processes.logs
    assert (logs / f"{INSTANCE}.log").exists()
    assert loose_paths(logs) == []
    assert umask_of(service) == 0o077
