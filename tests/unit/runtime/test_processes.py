"""Process records end exactly the process they started, never a recycled pid."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.processes import ProcessRecord, ProcessTable
from amnesty_runtime.stack.services import Instance, LocalProcesses, instances


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A child process that would sleep a minute; killed afterwards if a test left it running."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield child
    finally:
        child.kill()
        child.wait()


def test_a_record_stops_its_process_and_then_reports_it_gone(sleeper: subprocess.Popen[bytes]) -> None:
    record = ProcessRecord.of("sleeper", sleeper.pid)
    assert record.alive()
    record.stop(timeout_s=10)
    sleeper.wait(5)
    assert not record.alive()


def test_a_pid_with_another_start_time_is_not_ours(sleeper: subprocess.Popen[bytes]) -> None:
    impostor = ProcessRecord(name="other", pid=sleeper.pid, started=1.0)
    assert not impostor.alive()
    impostor.stop()
    assert sleeper.poll() is None, "stopping a stale record must not signal whoever holds the pid now"


def test_a_record_still_knows_its_process_after_the_clock_is_stepped(
    sleeper: subprocess.Popen[bytes],
) -> None:
    record = ProcessRecord.of("kafka", sleeper.pid)
    # What a record written before a step of the wall clock (a virtual machine resumed, NTP) looks like
    # afterwards: psutil's create_time() has moved by the step, the ticks after boot have not.
    stepped = dataclasses.replace(record, started=record.started - 46.0)
    assert stepped.alive()
    stepped.stop(timeout_s=10)
    assert sleeper.wait(5) is not None, "down ends the process it started, clock step or not"


def test_a_pid_that_started_at_another_tick_is_not_ours(sleeper: subprocess.Popen[bytes]) -> None:
    record = ProcessRecord.of("kafka", sleeper.pid)
    assert record.ticks is not None
    impostor = dataclasses.replace(record, ticks=record.ticks - 1)
    assert not impostor.alive()
    impostor.stop()
    assert sleeper.poll() is None


def test_a_table_written_before_ticks_were_recorded_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "stack.json"
    path.write_text(json.dumps({"kafka": {"name": "kafka", "pid": 42, "started": 1000.5, "address": ""}}))
    assert ProcessTable(path).get("kafka") == ProcessRecord("kafka", 42, 1000.5)
    ProcessTable(path).put(ProcessRecord("postgres", 43, 1001.5, ticks=7))
    assert ProcessTable(path).get("postgres") == ProcessRecord("postgres", 43, 1001.5, ticks=7)


def test_the_table_survives_a_round_trip_through_its_file(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path / "stack.json")
    table.put(ProcessRecord("kafka", 42, 1000.5))
    assert ProcessTable(tmp_path / "stack.json").get("kafka") == ProcessRecord("kafka", 42, 1000.5)
    table.remove("kafka")
    assert table.get("kafka") is None


def test_an_instance_writes_its_own_rotated_log_and_joins_its_group_under_its_name(tmp_path: Path) -> None:
    processes = LocalProcesses(InfraSettings(local_dir=tmp_path), ProcessTable(tmp_path / "stack.json"))
    env = processes.instance_environment(Instance("intake", 2, 8111), {"AMNESTY_PROFILE": "demo"})
    assert env == {
        "AMNESTY_INTAKE_SIGNING_KEY_FILE": str(tmp_path / "secrets" / "signing-intake.key"),
        "AMNESTY_INTAKE_VERIFYING_KEY_FILES": "{}",
        "AMNESTY_INTAKE_LOG_FILE": str(tmp_path / "logs" / "intake-2.log"),
        "AMNESTY_PROFILE": "demo",
        "AMNESTY_INTAKE_HTTP_PORT": "8111",
        "AMNESTY_INTAKE_INSTANCE_ID": "intake-2",
    }


def test_a_log_file_the_operator_chose_is_kept_one_per_instance(tmp_path: Path) -> None:
    processes = LocalProcesses(InfraSettings(local_dir=tmp_path), ProcessTable(tmp_path / "stack.json"))
    chosen = {"AMNESTY_STATISTICS_LOG_FILE": "/var/log/s.log"}
    env = processes.instance_environment(Instance("statistics", 3, 8120), chosen)
    assert env["AMNESTY_STATISTICS_LOG_FILE"] == "/var/log/s-3.log"


def test_instances_take_the_base_ports_in_steps_of_ten_without_meeting() -> None:
    planned = instances({"intake": 8001, "eligibility": 8002, "statistics": 8000}, 3)
    assert [(i.name, i.port) for i in planned] == [
        ("intake-1", 8001),
        ("intake-2", 8011),
        ("intake-3", 8021),
        ("eligibility-1", 8002),
        ("eligibility-2", 8012),
        ("eligibility-3", 8022),
        ("statistics-1", 8000),
        ("statistics-2", 8010),
        ("statistics-3", 8020),
    ]


def test_base_ports_too_close_for_the_instances_are_refused_before_anything_starts() -> None:
    with pytest.raises(StackError, match="too close for 2 instances"):
        instances({"intake": 9000, "eligibility": 9010, "statistics": 9020}, 2)


def test_a_base_port_without_room_for_its_replicas_is_refused_and_one_instance_may_use_it() -> None:
    with pytest.raises(StackError, match="no room for 3 instances"):
        instances({"intake": 65520}, 3)
    assert [i.port for i in instances({"intake": 65535}, 1)] == [65535]


@pytest.mark.parametrize("replicas", [0, 9])
def test_replicas_outside_one_to_eight_are_refused(replicas: int) -> None:
    with pytest.raises(StackError, match=r"replicas must be 1\.\.8"):
        instances({"intake": 8001}, replicas)


def test_the_table_keeps_each_instance_address_and_down_stops_the_simulator_first(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path / "stack.json")
    for name in ("kafka", "postgres", "statistics-2", "intake-10", "intake-2", "simulator", "eligibility-1"):
        table.put(ProcessRecord(name, 42, 1000.5, f"http://127.0.0.1:{len(name)}"))
    assert ProcessTable(tmp_path / "stack.json").get("intake-2") == ProcessRecord(
        "intake-2", 42, 1000.5, "http://127.0.0.1:8"
    )
    processes = LocalProcesses(InfraSettings(local_dir=tmp_path), table)
    assert processes.users() == ["simulator", "intake-2", "intake-10", "eligibility-1", "statistics-2"]


def test_stopping_the_simulator_ends_what_its_shell_started(tmp_path: Path) -> None:
    """The demo runs the simulator under ``/bin/sh -c "amnesty simulate … && touch marker"``; dash
    passes no SIGTERM on, so signalling the shell alone left the simulator publishing, orphaned."""
    processes = LocalProcesses(InfraSettings(local_dir=tmp_path), ProcessTable(tmp_path / "stack.json"))
    record = processes.start("simulator", ["/bin/sh", "-c", "sleep 60 && true"], {})
    with _only_child(record.pid) as child:
        assert processes.stop(["simulator"]) == ["simulator"]
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE


def test_a_process_that_leads_no_group_is_stopped_alone(tmp_path: Path) -> None:
    """Not a group's leader (not started in a session of its own), it is signalled alone: its children
    are not its to stop, and were waited on, then killed, at the end of the whole timeout."""
    shell = subprocess.Popen(["/bin/sh", "-c", "sleep 60 & wait"])
    with _only_child(shell.pid) as child:
        ProcessRecord.of("other", shell.pid).stop(timeout_s=1, group=True)
        assert shell.wait(5) is not None
        assert child.is_running()
        assert child.status() != psutil.STATUS_ZOMBIE


@contextlib.contextmanager
def _only_child(pid: int) -> Iterator[psutil.Process]:
    """The one child the shell ``pid`` starts, once it has; killed on the way out if it is still there."""
    shell = psutil.Process(pid)
    deadline = time.monotonic() + 10
    while not shell.children() and time.monotonic() < deadline:
        time.sleep(0.05)
    (child,) = shell.children()
    try:
        yield child
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
