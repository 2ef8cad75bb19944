"""The raw topology bench on the real broker: three forwarding processes move every message through."""

from __future__ import annotations

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.bench.bench_e2e import infrastructure, window_1_persons
from tests.bench.raw_topology import bench_topology


async def test_every_case_and_one_decision_per_return_reach_the_last_forwarder(endpoints: Endpoints) -> None:
    cases, returns = window_1_persons(5_000_000_000, 60, "topology-test")
    broker = [m for m in infrastructure(endpoints) if m.name.startswith("kafka")]

    # The statistics forwarder stops only once it has read 120 cases and 60 decisions: a forwarder that
    # dropped any would leave it waiting until the timeout.
    topology = await bench_topology(endpoints.kafka_admin, cases + returns, broker, timeout_s=60)

    assert topology.submissions == 120
    assert topology.read == 120 + 60
    assert topology.run_s > 0
    assert topology.forwarders_cpu_s > 0
    assert set(topology.others_cpu_s) == {m.name for m in broker}


async def test_durable_forwarders_move_every_message_and_leave_no_schema_behind(
    endpoints: Endpoints, admin_pool: Pool
) -> None:
    cases, returns = window_1_persons(5_100_000_000, 60, "durable-topology-test")

    topology = await bench_topology(
        endpoints.kafka_admin, cases + returns, [], timeout_s=60, database_url=endpoints.admin_database_url
    )

    assert topology.durable
    assert topology.read == 120 + 60
    assert not await admin_pool.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'raw\\_topology\\_%'"
    )
