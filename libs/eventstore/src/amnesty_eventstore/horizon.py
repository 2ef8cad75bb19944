"""The guard against long-open transactions, which hold back every reader of all events.

Readers stop below the oldest transaction id still running; a transaction that has written and stays
open stops them all. The pool's timeouts end forgotten ones; this measures what is open now.
"""

from __future__ import annotations

import asyncio

import structlog

from amnesty_eventstore import metrics
from amnesty_eventstore.connections import DbConnection, Pool

# Backends holding a transaction id, and prepared transactions (which hold one with no backend).
# Without pg_read_all_stats a role sees xact_start only for its own sessions.
_OLDEST_SQL = """
SELECT coalesce(extract(epoch FROM clock_timestamp() - min(started)), 0)::float8
FROM (
    SELECT xact_start AS started FROM pg_stat_activity WHERE backend_xid IS NOT NULL
    UNION ALL
    SELECT prepared FROM pg_prepared_xacts
) AS open_transactions
"""

log = structlog.get_logger(__name__)


async def oldest_transaction_age_seconds(conn: DbConnection) -> float:
    """Seconds since the oldest open transaction holding a transaction id began (0 when none)."""
    age = await conn.fetchval(_OLDEST_SQL)
    return float(age)


async def watch_oldest_transaction(pool: Pool, interval_s: float = 15.0) -> None:
    """Keep the ``amnesty_eventstore_oldest_xact_seconds`` gauge current; run it as a task.

    A failed measurement (the database away for a while) is logged and tried again: the watch outlives
    the outage it should help to see.
    """
    while True:
        try:
            async with pool.acquire() as conn:
                metrics.OLDEST_XACT_SECONDS.set(await oldest_transaction_age_seconds(conn))
        except Exception:
            log.warning("measuring the oldest open transaction failed", exc_info=True)
        await asyncio.sleep(interval_s)
