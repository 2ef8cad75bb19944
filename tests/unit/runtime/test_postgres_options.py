"""The local PostgreSQL's start options."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import postgres as stack_postgres
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.postgres import LocalPostgres
from amnesty_runtime.stack.processes import ProcessTable


def test_by_default_the_server_loads_no_statement_statistics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Off unless asked: it costs server CPU per statement and would shift the benches' figures.
    monkeypatch.delenv("AMNESTY_PG_STAT_STATEMENTS", raising=False)
    postgres = LocalPostgres(InfraSettings(local_dir=tmp_path), ProcessTable(tmp_path / "stack.json"))
    assert "shared_preload_libraries" not in postgres.server_options()


def _pg_ctl_gives_up_on(
    postgres: LocalPostgres, pid_file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``postgres.start()`` as far as pg_ctl, which writes ``pid_file`` as the server would and fails."""
    postgres.data.mkdir(parents=True)
    (postgres.data / "PG_VERSION").write_text("17\n")
    monkeypatch.setattr(stack_postgres, "require_free", lambda *_: None)
    monkeypatch.setattr(LocalPostgres, "_prepare", lambda _self: (tmp_path, None))
    monkeypatch.setattr(LocalPostgres, "_close_doors", lambda _self, _user: None)

    def pg_ctl_gives_up(_self: LocalPostgres, _argv: list[str], _user: str | None, what: str) -> None:
        (postgres.data / "postmaster.pid").write_text(pid_file)
        raise StackError(f"PostgreSQL {what} failed: server did not start in time")

    monkeypatch.setattr(LocalPostgres, "_run", pg_ctl_gives_up)
    with pytest.raises(StackError, match="did not start in time"):
        postgres.start()


def test_a_server_that_pg_ctl_gave_up_waiting_for_is_still_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pg_ctl -w gives up after 60 s while the server goes on starting (crash recovery on a busy
    machine): unrecorded, 'stack down' did not know it, and every later 'stack up' found its port taken."""
    table = ProcessTable(tmp_path / "stack.json")
    postgres = LocalPostgres(InfraSettings(local_dir=tmp_path), table)
    executable = tmp_path / "postgres"  # a process the system names postgres
    shutil.copy(shutil.which("sleep") or "/bin/sleep", executable)
    server = subprocess.Popen([str(executable), "60"])
    try:
        started = int(psutil.Process(server.pid).create_time())
        _pg_ctl_gives_up_on(postgres, f"{server.pid}\n{postgres.data}\n{started}\n", tmp_path, monkeypatch)
        record = table.get("postgres")
        assert record is not None
        assert record.pid == server.pid
    finally:
        server.kill()
        server.wait()


def test_a_stale_pid_file_naming_another_program_is_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a crash or a reboot the file may name a pid another program has now: recorded, 'stack
    down' would have signalled and killed it."""
    table = ProcessTable(tmp_path / "stack.json")
    postgres = LocalPostgres(InfraSettings(local_dir=tmp_path), table)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = int(psutil.Process(other.pid).create_time())
        _pg_ctl_gives_up_on(postgres, f"{other.pid}\n{postgres.data}\n{started}\n", tmp_path, monkeypatch)
        assert table.get("postgres") is None
    finally:
        other.kill()
        other.wait()
