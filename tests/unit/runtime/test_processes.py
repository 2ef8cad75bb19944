"""Process records end exactly the process they started, never a recycled pid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.processes import ProcessRecord, ProcessTable
from amnesty_runtime.stack.services import LocalProcesses


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


def test_a_demo_service_writes_its_own_rotated_log_and_prints_elsewhere(tmp_path: Path) -> None:
    processes = LocalProcesses(InfraSettings(local_dir=tmp_path), ProcessTable(tmp_path / "stack.json"))
    env = processes.service_environment("intake", 8101, {"AMNESTY_PROFILE": "demo"})
    assert env == {
        "AMNESTY_INTAKE_LOG_FILE": str(tmp_path / "logs" / "intake.log"),
        "AMNESTY_INTAKE_SIGNING_KEY_FILE": str(tmp_path / "secrets" / "signing-intake.key"),
        "AMNESTY_INTAKE_VERIFYING_KEY_FILES": "{}",
        "AMNESTY_PROFILE": "demo",
        "AMNESTY_INTAKE_HTTP_PORT": "8101",
    }


def test_a_log_file_the_operator_chose_is_kept(tmp_path: Path) -> None:
    processes = LocalProcesses(InfraSettings(local_dir=tmp_path), ProcessTable(tmp_path / "stack.json"))
    env = processes.service_environment("statistics", 8100, {"AMNESTY_STATISTICS_LOG_FILE": "/var/log/s.log"})
    assert env["AMNESTY_STATISTICS_LOG_FILE"] == "/var/log/s.log"
