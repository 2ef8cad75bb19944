"""`amnesty whatif` replays eligibility's recorded history under another rule set and publishes nothing."""

from __future__ import annotations

import asyncio
import os
import sys
from itertools import count
from pathlib import Path

import pytest

from amnesty_contracts import CaseEvent, new_event_id
from amnesty_eligibility.adapters.person_streams import PostgresPersonStore
from amnesty_eligibility.adapters.rule_files import PACKAGED
from amnesty_eligibility.entrypoints.cases_consumer import cases_consumer
from amnesty_eligibility.service_layer.handlers import Eligibility
from amnesty_eventstore import Pool
from amnesty_eventstore.consumption import Delivery
from amnesty_runtime.stack import Endpoints
from tests.unit.eligibility.examples import RULES, detained, opened, returned

pytestmark = pytest.mark.integration

EXTENDED = Path(str(PACKAGED / "examples" / "window-2-extended-2025-12-31.toml"))
NO_WINDOWS = Path(str(PACKAGED / "examples" / "no-windows.toml"))


def _history() -> list[CaseEvent]:
    return [
        opened(absent_since="2025-03-01", person="p1"),
        returned("2025-10-01", person="p1"),  # outside window-2, inside its extension
        opened(absent_since="2025-03-01", person="p2"),
        returned("2025-06-01", person="p2"),  # window-2 either way
        opened(absent_since="2024-10-01", person="p3"),
        returned("2024-12-20", person="p3"),  # window-1: before the period asked about below
        opened(absent_since="2025-03-01", person="p4"),
        detained("2025-10-02", person="p4"),
    ]


async def _record(pool: Pool, schema: str, events: list[CaseEvent]) -> None:
    eligibility = Eligibility(
        schema=schema,
        rules=RULES,
        store=lambda conn: PostgresPersonStore(conn, schema, "rejected", new_event_id),
        decisions_topic="decisions",
    )
    consumer = cases_consumer(pool, "eligibility", eligibility)
    offsets = count()
    await consumer.apply(
        [Delivery("cases", 0, next(offsets), e.person.encode(), e.model_dump_json().encode()) for e in events]
    )


async def _whatif(
    endpoints: Endpoints, schema: str, *args: str, extra_env: dict[str, str] | None = None
) -> tuple[int, str]:
    env = {
        **os.environ,  # noqa: TID251 - a child process inherits the environment
        "AMNESTY_ELIGIBILITY_DATABASE_URL": endpoints.admin_database_url,
        "AMNESTY_ELIGIBILITY_SCHEMA_NAME": schema,
        "COLUMNS": "160",
        **(extra_env or {}),
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "amnesty"),
        "whatif",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return await process.wait(), out.decode()


def _row(output: str, label: str) -> list[str]:
    (line,) = [line for line in output.splitlines() if line.startswith("│") and f" {label} " in line]
    return [cell.strip() for cell in line.split("│")[1:-1]]


async def test_whatif_compares_the_recorded_history_under_another_rule_set(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str
) -> None:
    await _record(admin_pool, fresh_schema, _history())
    events_before = await admin_pool.fetchval(f'SELECT count(*) FROM "{fresh_schema}".events')
    outbox_before = await admin_pool.fetchval(f'SELECT count(*) FROM "{fresh_schema}".outbox')

    status, output = await _whatif(endpoints, fresh_schema, "--rules", str(EXTENDED), "--from", "2025-01-01")

    assert status == 0, output
    assert _row(output, "window-2") == ["granted", "window-2", "1", "2", "+1"]
    assert _row(output, "outside-window") == ["denied", "outside-window", "1", "0", "-1"]
    assert _row(output, "not-voluntary") == ["denied", "not-voluntary", "1", "1", ""]
    assert _row(output, "window-1") == ["granted", "window-1", "0", "0", ""]
    assert "3 returns of 3 persons decided; 1 decisions of 1 persons would change." in output
    assert await admin_pool.fetchval(f'SELECT count(*) FROM "{fresh_schema}".events') == events_before
    assert await admin_pool.fetchval(f'SELECT count(*) FROM "{fresh_schema}".outbox') == outbox_before


async def test_whatif_without_windows_denies_every_first_return(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str
) -> None:
    await _record(admin_pool, fresh_schema, _history())
    status, output = await _whatif(endpoints, fresh_schema, "--rules", str(NO_WINDOWS))
    assert status == 0, output
    assert _row(output, "outside-window") == ["denied", "outside-window", "1", "3", "+2"]
    assert "4 returns of 4 persons decided; 2 decisions of 2 persons would change." in output


async def test_whatif_refuses_a_broken_rule_file(
    endpoints: Endpoints, fresh_schema: str, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('version = "x"\n[[regimes]]\nid = "w"\n', encoding="utf-8")
    status, output = await _whatif(endpoints, fresh_schema, "--rules", str(broken))
    assert status == 2
    assert "absence_by" in output


async def test_whatif_shows_its_progress_at_a_terminal_only(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str
) -> None:
    await _record(admin_pool, fresh_schema, _history())
    _, piped = await _whatif(endpoints, fresh_schema, "--rules", str(EXTENDED))
    # rich's switch: draw as on a terminal
    terminal = {"TTY_COMPATIBLE": "1"}
    status, shown = await _whatif(endpoints, fresh_schema, "--rules", str(EXTENDED), extra_env=terminal)
    _, quiet = await _whatif(endpoints, fresh_schema, "--rules", str(EXTENDED), "-q", extra_env=terminal)
    assert status == 0, shown
    assert "comparing persons" in shown
    assert "comparing persons" not in piped
    assert "comparing persons" not in quiet
    assert "persons decided" in quiet, "the results still print"
