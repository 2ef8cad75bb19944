"""The raw topology bench on the real broker: three forwarding processes move every message through."""

from __future__ import annotations

import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.bench.bench_e2e import infrastructure, window_1_persons
from tests.bench.raw_topology import bench_topology

pytestmark = pytest.mark.integration


async def test_every_case_and_one_decision_per_return_reach_the_last_forwarder(endpoints: Endpoints) -> None:
    cases, returns = window_1_persons(5_000_000_000, 60, "topology-test")
    broker = [m for m in infrastructure(endpoints) if m.name.startswith("kafka")]

    # Statistics stops once it has read 120 records on the cases topic and 60 decisions: a forwarder
    # that dropped any would leave it waiting until the timeout.
    topology = await bench_topology(
        endpoints.kafka_admin, cases + returns, broker, batch_records=50, timeout_s=60
    )

    assert topology.submissions == 120
    assert topology.read == 120 + 60
    assert topology.run_s > 0
    assert topology.forwarders_cpu_s > 0
    assert set(topology.others_cpu_s) == {m.name for m in broker}
    assert topology.recorded is None


async def test_durable_forwarders_record_every_batch_empty_their_outbox_and_leave_no_schema(
    endpoints: Endpoints, admin_pool: Pool
) -> None:
    cases, returns = window_1_persons(5_100_000_000, 60, "durable-topology-test")

    topology = await bench_topology(
        endpoints.kafka_admin,
        cases + returns,
        [],
        batch_records=50,
        timeout_s=60,
        database_url=endpoints.admin_database_url,
    )

    assert topology.read == 120 + 60
    assert topology.recorded is not None
    assert {k: v for k, v in topology.recorded.items() if k.endswith((".events", ".outbox"))} == {
        "intake.events": 120,
        "intake.outbox": 0,
        "eligibility.events": 120 + 60,  # every case event as a fact, and the decisions
        "eligibility.outbox": 0,
    }
    assert topology.recorded["statistics.persons"] == 60
    left = await admin_pool.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1", f"raw\\_topology\\_{topology.tag}\\_%"
    )
    assert left == 0
