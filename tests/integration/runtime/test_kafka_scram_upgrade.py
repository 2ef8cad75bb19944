"""A `.local/kafka` formatted before SCRAM (no admin user in its metadata) is upgraded in place by `up`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from amnesty_contracts.topics import ALL_TOPICS, UPSTREAM
from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import Stack
from amnesty_runtime.stack.java import find_java
from amnesty_runtime.stack.ports import free_port
from amnesty_runtime.stack.principals import ADMIN, UPSTREAM_PRINCIPAL

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Stack]:
    """A separate stack (own folder and ports) whose Kafka storage is formatted the pre-SCRAM way."""
    settings = InfraSettings(
        database_url=None,
        kafka_bootstrap_servers=None,
        local_dir=tmp_path / "local",
        pg_port=free_port(),
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
    )
    stack = Stack(settings)
    yield stack
    stack.down()


def _format_without_scram(stack: Stack) -> None:
    kafka = stack.kafka
    kafka.resolve_jars()
    kafka.write_config("unused")
    subprocess.run(
        [str(find_java()), "-cp", f"{kafka.libs}/*", "kafka.tools.StorageTool", "format", "--standalone",
         "--cluster-id=pre-scram-cluster-0001", "-c", str(kafka.libs.parent / "server.properties")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


async def test_a_storage_formatted_before_scram_is_upgraded_and_keeps_its_cluster(fresh: Stack) -> None:
    _format_without_scram(fresh)
    assert fresh.kafka.needs_scram_upgrade()

    await fresh.up()

    assert not fresh.kafka.needs_scram_upgrade()
    assert "cluster.id=pre-scram-cluster-0001" in (fresh.kafka.data / "meta.properties").read_text()
    endpoints = fresh.endpoints
    visible = {}
    for principal in (ADMIN, UPSTREAM_PRINCIPAL):
        client = AIOKafkaAdminClient(**endpoints.kafka_client_options(principal).aiokafka())
        await client.start()
        try:
            visible[principal] = set(await client.list_topics())
        finally:
            await client.close()
    assert visible[ADMIN] >= set(ALL_TOPICS)
    assert visible[UPSTREAM_PRINCIPAL] == {UPSTREAM}, "the ACLs apply after the upgrade"
    # The anonymous super user's listener was only for the upgrade.
    assert "UPGRADE" not in (fresh.kafka.libs.parent / "server.properties").read_text()
