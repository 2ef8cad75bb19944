"""No other role can take, or hold off, a service's outbox relay leadership, nor learn the channel its
readers are woken on: the lease is a lock on a table of the service's own schema, and the channel's name
a random one kept in another, which no other role can reach. The advisory lock the relay once used is one
namespace for the whole database; holding its old key changes nothing now."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from amnesty_eventstore import EVENTSTORE_MIGRATIONS, NewEvent, Pool, append_in, create_pool, migrate
from amnesty_eventstore.outbox_relay import OutboxRelay, create_producer
from amnesty_runtime.stack import Stack
from amnesty_runtime.stack.endpoints import with_credentials
from tests.security.conftest import ConnectAs
from tests.support.kafka import end_offsets
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

INTRUDER = "eligibility"
"""Another service's role: what a compromised service would log in as."""

LEASE_HOLDER = (
    "SELECT pid FROM pg_locks WHERE locktype = 'relation' AND granted AND mode = 'ShareRowExclusiveLock' "
    "AND relation = format('%I.relay_lease', $1::text)::regclass"
)


@dataclass(frozen=True)
class SchemaOwner:
    role: str
    """Also the name of the schema it owns."""
    pool: Pool


@pytest.fixture
async def owner(local_stack: Stack, admin_pool: Pool) -> AsyncIterator[SchemaOwner]:
    """A new role owning a schema of its name, as a service owns its own, with the event store migrated
    by that role; the real services' schemas are left alone."""
    role = f"t_owner_{uuid.uuid4().hex[:8]}"
    database = await admin_pool.fetchval("SELECT current_database()")
    password = secrets.token_urlsafe(16)
    await admin_pool.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    await admin_pool.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
    await admin_pool.execute(f"CREATE SCHEMA {role} AUTHORIZATION {role}")
    await admin_pool.execute(f"REVOKE ALL ON SCHEMA {role} FROM PUBLIC")
    url = with_credentials(local_stack.endpoints.admin_database_url, role, password)
    pool = await create_pool(url, min_size=1, max_size=4)
    try:
        await migrate(pool, role, [EVENTSTORE_MIGRATIONS])
        yield SchemaOwner(role, pool)
    finally:
        await pool.close()
        await admin_pool.execute(f"DROP SCHEMA {role} CASCADE")
        await admin_pool.execute(f'REVOKE ALL ON DATABASE "{database}" FROM {role}')
        await admin_pool.execute(f"DROP ROLE {role}")


async def test_another_role_cannot_lock_the_relay_lease(connect_as: ConnectAs, owner: SchemaOwner) -> None:
    async with connect_as(INTRUDER) as intruder, intruder.transaction():
        with pytest.raises(
            asyncpg.InsufficientPrivilegeError, match=f"permission denied for schema {owner.role}"
        ):
            await intruder.execute(f"LOCK TABLE {owner.role}.relay_lease IN SHARE ROW EXCLUSIVE MODE NOWAIT")


async def test_the_relay_leads_and_publishes_while_another_role_holds_the_old_advisory_key(
    local_stack: Stack, connect_as: ConnectAs, owner: SchemaOwner, fresh_topic: str
) -> None:
    kafka = local_stack.endpoints.kafka_admin
    producer = create_producer(kafka.aiokafka(), "security-relay")
    await producer.start()
    stop = asyncio.Event()
    relay = OutboxRelay(owner.pool, owner.role, producer, service="security", poll_interval_s=0.2)
    try:
        async with connect_as(INTRUDER) as intruder:
            assert await intruder.fetchval(
                "SELECT pg_try_advisory_lock(hashtext('amnesty_eventstore.relay'), hashtext($1))", owner.role
            )
            running = asyncio.create_task(relay.run(stop))
            try:
                await eventually(
                    lambda: owner.pool.fetchval(LEASE_HOLDER, owner.role), lambda pid: pid is not None
                )
                stream = f"probe-{uuid.uuid4().hex[:8]}"
                event = NewEvent(
                    event_id=uuid.uuid4(),
                    type="Probe",
                    data={"stream": stream},
                    topic=fresh_topic,
                    key=stream,
                )
                async with owner.pool.acquire() as conn:
                    await append_in(conn, owner.role, stream, [event], 0)
                await eventually(lambda: end_offsets(kafka, fresh_topic), lambda n: n == 1)
            finally:
                stop.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(running, 10)
    finally:
        await producer.stop()


async def test_the_lease_holds_back_no_readers_horizon(owner: SchemaOwner, admin_pool: Pool) -> None:
    """The leader's open transaction takes no transaction id, so subscriptions keep reading past it."""
    async with owner.pool.acquire() as lease, lease.transaction():
        await lease.execute(f"LOCK TABLE {owner.role}.relay_lease IN SHARE ROW EXCLUSIVE MODE NOWAIT")
        row = await admin_pool.fetchrow(
            "SELECT backend_xid, backend_xmin, state FROM pg_stat_activity WHERE pid = $1",
            lease.get_server_pid(),
        )
        assert row is not None
        assert (row["backend_xid"], row["backend_xmin"], row["state"]) == (None, None, "idle in transaction")


async def test_another_role_cannot_learn_the_schemas_events_channel(
    connect_as: ConnectAs, owner: SchemaOwner
) -> None:
    """NOTIFY has no privileges: a role that knew the channel could wake the schema's readers at will.
    The name is random and kept in a table of the schema (the relay test above is woken on it)."""
    channel = await owner.pool.fetchval(f"SELECT name FROM {owner.role}.events_channel")
    assert channel.startswith("events_")
    assert owner.role not in channel
    async with connect_as(INTRUDER) as intruder:
        with pytest.raises(
            asyncpg.InsufficientPrivilegeError, match=f"permission denied for schema {owner.role}"
        ):
            await intruder.fetchval(f"SELECT name FROM {owner.role}.events_channel")
