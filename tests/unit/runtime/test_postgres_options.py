"""The local PostgreSQL's start options."""

from __future__ import annotations

from pathlib import Path

import pytest

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.postgres import LocalPostgres
from amnesty_runtime.stack.processes import ProcessTable


def test_by_default_the_server_loads_no_statement_statistics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Off unless asked: it costs server CPU per statement and would shift the benches' figures.
    monkeypatch.delenv("AMNESTY_PG_STAT_STATEMENTS", raising=False)
    postgres = LocalPostgres(InfraSettings(local_dir=tmp_path), ProcessTable(tmp_path / "stack.json"))
    assert "shared_preload_libraries" not in postgres.server_options()
