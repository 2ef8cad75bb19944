"""The Grafana dashboards are generated: the committed JSON is the generator's output, and it names
only the provisioned data sources and the contract's metrics."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support import dashboards

ROOT = Path(__file__).parents[3]
CONTRACT_METRICS = {
    "amnesty_cases_opened",
    "amnesty_voluntary_returns",
    "amnesty_decisions",
    "amnesty_open_cases",
    "amnesty_messages_consumed_total",
    "amnesty_messages_rejected_total",
    "amnesty_outbox_pending",
    "amnesty_projection_lag_seconds",
    "amnesty_handler_seconds_bucket",
}


def test_the_committed_dashboards_are_what_the_generator_writes() -> None:
    check = subprocess.run(
        [sys.executable, "deploy/grafana/generate.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_there_are_the_two_dashboards_of_the_contract() -> None:
    boards = dashboards.dashboards()
    assert sorted(boards) == ["amnesty-operations", "amnesty-returns"]
    assert {name: board["uid"] for name, board in boards.items()} == {name: name for name in boards}


def test_every_panel_uses_a_provisioned_data_source() -> None:
    provisioned = yaml.safe_load(
        (ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "datasources.yaml").read_text()
    )
    uids = {source["uid"] for source in provisioned["datasources"]}
    for board in dashboards.dashboards().values():
        for panel in board["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] in uids, panel["title"]


def test_the_prometheus_queries_use_only_the_contracts_metrics() -> None:
    used = {
        name
        for query in dashboards.queries(dashboards.PROMETHEUS_UID)
        for name in re.findall(r"\bamnesty_[a-z_]+", query.text)
    }
    assert used == CONTRACT_METRICS
