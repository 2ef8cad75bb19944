"""Process records end exactly the process they started, never a recycled pid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from amnesty_runtime.stack.processes import ProcessRecord, ProcessTable


def test_a_record_stops_its_process_and_then_reports_it_gone(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    record = ProcessRecord.of("sleeper", child.pid)
    assert record.alive()
    record.stop(timeout_s=10)
    child.wait(5)
    assert not record.alive()


def test_a_pid_with_another_start_time_is_not_ours() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        impostor = ProcessRecord(name="other", pid=child.pid, started=1.0)
        assert not impostor.alive()
        impostor.stop()
        assert child.poll() is None, "stopping a stale record must not signal whoever holds the pid now"
    finally:
        child.kill()
        child.wait()


def test_the_table_survives_a_round_trip_through_its_file(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path / "stack.json")
    table.put(ProcessRecord("kafka", 42, 1000.5))
    assert ProcessTable(tmp_path / "stack.json").get("kafka") == ProcessRecord("kafka", 42, 1000.5)
    table.remove("kafka")
    assert table.get("kafka") is None
