"""The local stack's life: up from nothing, up again, loopback only, down leaves nothing, clear errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import Stack, StackError
from amnesty_runtime.stack.java import find_java
from amnesty_runtime.stack.kafka import LocalKafka
from amnesty_runtime.stack.ports import free_port
from amnesty_runtime.stack.processes import ProcessTable
from tests.support.stack_dirs import second_stack_dir

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh() -> Iterator[Stack]:
    """A second, separate stack: its own data folder and ports, never the session's."""
    with second_stack_dir("fresh") as local:
        settings = InfraSettings(
            database_url=None,
            kafka_bootstrap_servers=None,
            local_dir=local,
            pg_port=free_port(),
            kafka_port=free_port(),
            kafka_controller_port=free_port(),
        )
        stack = Stack(settings)
        yield stack
        stack.down()


def _listening(pid: int) -> set[str]:
    return {
        c.laddr.ip for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
    }


async def test_up_from_nothing_then_down_leaves_no_process_behind(fresh: Stack) -> None:
    report = await fresh.up()
    pids = {row.name: row.pid for row in fresh.status()}
    assert {row.state for row in fresh.status()} == {"running"}
    assert sorted(report.topics_created) == sorted(
        ["amnesty.upstream.v1", "amnesty.cases.v1", "amnesty.decisions.v1", "amnesty.rejected.v1"]
    )
    for pid in pids.values():
        assert pid is not None
        assert _listening(pid) == {"127.0.0.1"}

    again = await fresh.up()
    assert {row.name: row.pid for row in fresh.status()} == pids, "a second up must reuse the running stack"
    assert again.topics_created == []

    assert sorted(fresh.down()) == ["kafka", "postgres"]
    for pid in pids.values():
        assert pid is not None
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert {row.state for row in fresh.status()} == {"stopped"}
    assert fresh.down() == []


async def test_a_taken_port_is_a_clear_error_and_starts_nothing(fresh: Stack) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", fresh.settings.kafka_port))
        squatter.listen()
        with pytest.raises(StackError, match=f"port 127.0.0.1:{fresh.settings.kafka_port} is taken"):
            await fresh.up()
    assert {row.state for row in fresh.status()} == {"stopped"}


def test_storage_formats_with_a_cluster_id_that_starts_with_a_dash(tmp_path: Path) -> None:
    # One random id in 64 starts with "-": Kafka's storage tool once took such an id for an option.
    kafka = LocalKafka(InfraSettings(local_dir=tmp_path), ProcessTable(tmp_path / "stack.json"))
    kafka.resolve_jars()
    kafka.write_config("admin-password")
    kafka.format_storage(find_java(), "admin-password", cluster_id="-dashFirst0123456789ab")
    assert "cluster.id=-dashFirst0123456789ab" in (kafka.data / "meta.properties").read_text()
