"""`amnesty demo --replicas 2` from nothing: stack, two instances of each service and the simulator up;
`stack status` lists every instance; again is safe; `down` leaves nothing.

A separate stack in a temporary folder on free ports, so it never touches the session's.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import httpx2
import psutil
import pytest

from amnesty_runtime.settings import SERVICE_PORTS
from amnesty_runtime.stack.ports import free_port
from amnesty_runtime.stack.processes import ProcessRecord, ProcessTable
from amnesty_simulator.calibration import calibrate, read_figures
from amnesty_simulator.world import scaled
from tests.support.stack_dirs import second_stack_dir
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

SCALE = 0.01
REPLICAS = 2
INSTANCES = tuple(f"{s}-{n}" for s in SERVICE_PORTS for n in range(1, REPLICAS + 1))


async def _amnesty(env: dict[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "amnesty"),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode == 0, out.decode()
    return out.decode()


async def test_demo_runs_the_system_again_safely_and_down_stops_everything() -> None:
    with second_stack_dir("demo") as local:
        await _demo_from_nothing(local)


async def _demo_from_nothing(local: Path) -> None:
    # Apart by more than the stride of 10 between one service's instances; below Linux's ephemeral range
    # (32768 and up), where any client connection made meanwhile could take a chosen port before the
    # demo binds it (it did: "port 127.0.0.1:35140 is taken by another program").
    base = 20_000 + free_port() % 10_000
    ports = {f"AMNESTY_{s.upper()}_HTTP_PORT": str(base + i) for i, s in enumerate(SERVICE_PORTS)}
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}  # noqa: TID251
    env |= ports | {
        "AMNESTY_LOCAL_DIR": str(local),
        "AMNESTY_PG_PORT": str(free_port()),
        "AMNESTY_KAFKA_PORT": str(free_port()),
        "AMNESTY_KAFKA_CONTROLLER_PORT": str(free_port()),
    }
    table = ProcessTable(local / "stack.json")
    running: dict[str, ProcessRecord | None] = {}
    try:
        printed = await _amnesty(env, "demo", "--scale", str(SCALE), "--replicas", str(REPLICAS))
        stats = f"http://127.0.0.1:{ports['AMNESTY_STATISTICS_HTTP_PORT']}"
        assert f"live page        {stats}/" in printed
        running = {name: table.get(name) for name in ("postgres", "kafka", *INSTANCES, "simulator")}
        assert all(record is not None for record in running.values()), printed
        status = await _amnesty(env, "stack", "status")
        for service in SERVICE_PORTS:
            first = int(ports[f"AMNESTY_{service.upper()}_HTTP_PORT"])
            for n in range(1, REPLICAS + 1):
                record = running[f"{service}-{n}"]
                assert record is not None
                port = first + 10 * (n - 1)
                row = rf"{service}-{n}\s+│ ready\s+│ http://127\.0\.0\.1:{port}\s+│ {record.pid}\s"
                assert re.search(row, status), status
                # On uvloop, as the HTTP server asks: not asyncio's loop, which a missing wheel would
                # leave them on.
                maps = psutil.Process(record.pid).memory_maps()
                assert any("uvloop" in m.path for m in maps), f"{service}-{n} runs without uvloop"

        calendar = calibrate(read_figures(), (2022, 1), (2025, 9))
        expected = sum(scaled(n, SCALE) for n in calendar.counts.values())
        async with httpx2.AsyncClient(base_url=stats, timeout=10) as http:

            async def cases_opened() -> int:
                return int((await http.get("/v1/stats/summary")).json()["cases_opened"])

            await eventually(cases_opened, lambda n: n == expected, timeout_s=180)
        await eventually(lambda: _exists(local / "demo" / f"simulated-seed2024-scale{SCALE}"), bool, 60)

        for name in INSTANCES:  # each writes its own log, rotated by the service itself
            lines = (local / "logs" / f"{name}.log").read_text().splitlines()
            assert lines
            assert {json.loads(line)["service"] for line in lines} == {name.rpartition("-")[0]}
            assert (local / "logs" / f"{name}.console.log").read_text() == ""

        again = await _amnesty(env, "demo", "--scale", str(SCALE), "--replicas", str(REPLICAS))
        assert "already simulated" in again
        assert {n: table.get(n) for n in ("postgres", "kafka", *INSTANCES)} == {
            n: running[n] for n in ("postgres", "kafka", *INSTANCES)
        }, "a second demo reuses what runs"
    finally:
        stopped = await _amnesty(env, "stack", "down")
    assert all(name in stopped for name in INSTANCES), stopped
    assert "kafka" in stopped
    for record in running.values():
        assert record is not None
        assert not psutil.pid_exists(record.pid) or psutil.Process(record.pid).create_time() != record.started


async def _exists(path: Path) -> bool:
    return await asyncio.to_thread(path.exists)
