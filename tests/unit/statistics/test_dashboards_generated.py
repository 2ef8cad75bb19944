"""The Grafana dashboards are generated: the committed JSON is the generator's output, it names only
the provisioned data sources (through data-source variables) and the contract's metrics, and it is
built the way analysts expect: units and thresholds on every stat, business stats that follow the time
range and the filters, multi-value filters with Grafana's own "All", the amnesty windows as annotations,
and links that lead to dashboards that exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from amnesty_eligibility.adapters.rule_files import load_packaged_rule_set
from amnesty_eligibility.settings import ACTIVE_RULE_SET
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
OPERATIONAL_METRICS = {
    "amnesty_messages_consumed_total",
    "amnesty_messages_rejected_total",
    "amnesty_outbox_pending",
    "amnesty_projection_lag_seconds",
    "amnesty_handler_seconds_bucket",
}
# Exported by every service's event store (amnesty_eventstore.metrics), beside the contract's names.
EVENT_STORE_METRICS = {"amnesty_eventstore_oldest_xact_seconds"}
DATASOURCE_TYPES = {"grafana-postgresql-datasource": "postgres", "prometheus": "prometheus"}
BOARDS = dashboards.dashboards()
RETURNS = BOARDS["amnesty-returns"]
OPERATIONS = BOARDS["amnesty-operations"]


def data_panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in dashboards.panels(board) if panel["type"] != "row"]


def stats(board: dict[str, Any], datasource_type: str) -> list[dict[str, Any]]:
    return [
        panel
        for panel in data_panels(board)
        if panel["type"] == "stat" and panel["datasource"]["type"] == datasource_type
    ]


def by_title(board: dict[str, Any], title: str, kind: str | None = None) -> dict[str, Any]:
    [panel] = [p for p in data_panels(board) if p["title"] == title and kind in (None, p["type"])]
    return panel


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
    assert sorted(BOARDS) == ["amnesty-operations", "amnesty-returns"]
    assert {name: board["uid"] for name, board in BOARDS.items()} == {name: name for name in BOARDS}


# --- data sources -------------------------------------------------------------------------------------


def test_every_panel_uses_a_provisioned_data_source() -> None:
    provisioned = yaml.safe_load(
        (ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "datasources.yaml").read_text()
    )
    uids = {source["uid"] for source in provisioned["datasources"]}
    for board in BOARDS.values():
        for panel in data_panels(board):
            assert dashboards.datasource_uid(board, panel["datasource"]) in uids, panel["title"]


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_data_source_is_a_variable_defaulting_to_the_provisioned_one(name: str) -> None:
    board = BOARDS[name]
    variables = dashboards.variables(board)
    references = [panel["datasource"] for panel in data_panels(board)]
    references += [target["datasource"] for panel in data_panels(board) for target in panel["targets"]]
    references += [v["datasource"] for v in variables.values() if v["type"] == "query"]
    references += [a["datasource"] for a in board["annotations"].get("list", [])]

    assert references
    for reference in references:
        variable = DATASOURCE_TYPES[reference["type"]]
        assert reference["uid"] == f"${{{variable}}}", reference
        assert variables[variable]["type"] == "datasource"
        assert variables[variable]["query"] == reference["type"]
    assert variables["prometheus"]["current"]["value"] == dashboards.PROMETHEUS_UID
    if "postgres" in variables:
        assert variables["postgres"]["current"]["value"] == dashboards.POSTGRES_UID


def test_the_prometheus_queries_use_the_contracts_metrics() -> None:
    def used(board: str) -> set[str]:
        return {
            name
            for query in dashboards.queries(dashboards.PROMETHEUS_UID)
            if query.dashboard == board
            for name in re.findall(r"\bamnesty_[a-z_]+", query.text)
        }

    assert used("amnesty-returns") | used("amnesty-operations") <= CONTRACT_METRICS | EVENT_STORE_METRICS
    assert used("amnesty-operations") >= OPERATIONAL_METRICS


# --- stats: units, thresholds, time range and filters -------------------------------------------------


def test_every_panel_has_a_unit() -> None:
    for board in BOARDS.values():
        for panel in data_panels(board):
            assert panel["fieldConfig"]["defaults"].get("unit"), panel["title"]


def test_the_return_rate_is_a_percentage() -> None:
    stat = by_title(RETURNS, "Return rate", "stat")
    regions = by_title(RETURNS, "By region")
    [rate_column] = [
        override
        for override in regions["fieldConfig"]["overrides"]
        if override["matcher"] == {"id": "byName", "options": "Return rate"}
    ]

    assert stat["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert {"id": "unit", "value": "percentunit"} in rate_column["properties"]


def test_every_stat_has_thresholds_and_no_business_stat_shows_red() -> None:
    every_stat = stats(RETURNS, "grafana-postgresql-datasource") + stats(RETURNS, "prometheus")
    every_stat += stats(OPERATIONS, "prometheus")
    assert len(every_stat) >= 12
    for panel in every_stat:
        config = panel["fieldConfig"]["defaults"]["thresholds"]
        assert config["mode"] == "absolute", panel["title"]
        assert config["steps"][0]["value"] is None, panel["title"]
    for panel in stats(RETURNS, "grafana-postgresql-datasource"):
        colours = {step["color"] for step in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]}
        assert "red" not in colours, panel["title"]


def test_the_operational_stats_warn_as_their_figure_worsens() -> None:
    for title in ("Services down", "Projection lag", "Outbox pending", "Oldest open transaction"):
        steps = by_title(OPERATIONS, title, "stat")["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps[0]["color"] == "green", title
        assert len(steps) >= 2, title
        assert [step["value"] for step in steps[1:]] == sorted(step["value"] for step in steps[1:])


def test_every_sql_stat_follows_the_time_range_and_the_filters() -> None:
    sql_stats = stats(RETURNS, "grafana-postgresql-datasource")
    assert len(sql_stats) >= 6
    for panel in sql_stats:
        [target] = panel["targets"]
        assert re.search(r"\$__timeFilter\(|\$__timeTo\(\)", target["rawSql"]), panel["title"]
        assert "region IN ($region)" in target["rawSql"], panel["title"]
        assert "article IN ($article)" in target["rawSql"], panel["title"]


def test_the_business_figures_come_from_the_read_models() -> None:
    business = {
        "amnesty_cases_opened",
        "amnesty_voluntary_returns",
        "amnesty_decisions",
        "amnesty_open_cases",
    }
    for query in dashboards.queries(dashboards.PROMETHEUS_UID):
        assert not business & set(re.findall(r"\bamnesty_[a-z_]+", query.text)), query


# --- variables ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["region", "article"])
def test_the_filters_are_multi_value_with_grafanas_own_all(name: str) -> None:
    variable = dashboards.variables(RETURNS)[name]

    assert variable["multi"] is True
    assert variable["includeAll"] is True
    assert "allValue" not in variable
    assert variable["current"]["value"] == ["$__all"]
    assert "'all'" not in variable["query"]
    assert all(option["value"] != "all" for option in variable.get("options", []))


def test_the_sql_takes_the_filters_as_lists_of_values() -> None:
    sql = [q.text for q in dashboards.queries(dashboards.POSTGRES_UID) if q.kind != "variable"]

    assert sum("IN ($region)" in text for text in sql) >= 10
    for text in sql:
        assert "'$region'" not in text
        assert "'$article'" not in text
        assert not re.search(r"= *\$(region|article)\b", text)


# --- annotations and links ----------------------------------------------------------------------------


def test_the_amnesty_windows_are_annotations_with_the_rule_sets_dates() -> None:
    [windows] = [a for a in RETURNS["annotations"]["list"] if a["name"].startswith("Amnesty windows")]
    sql = windows["target"]["rawSql"]
    rules = load_packaged_rule_set(ACTIVE_RULE_SET)

    assert windows["enable"] is True
    assert {r.id for r in rules.regimes} == {"window-1", "window-2", "pilot-2026"}
    for regime in rules.regimes:
        assert f"TIMESTAMP '{regime.returns_from.isoformat()}'" in sql, regime.id
        assert f"'{regime.id}')" in sql, regime.id
    assert re.search(r"\bAS time\b.*\bAS timeend\b.*\btext\b.*\bAS tags\b", sql)


def _links(board: dict[str, Any]) -> list[str]:
    """Every URL of the dashboard's links, panel links and data links (field overrides included)."""
    urls = [link["url"] for link in board.get("links", [])]
    for panel in data_panels(board):
        urls += [link["url"] for link in panel.get("links", [])]
        field_config = panel["fieldConfig"]
        urls += [link["url"] for link in field_config["defaults"].get("links", [])]
        for override in field_config["overrides"]:
            for prop in override["properties"]:
                if prop["id"] == "links":
                    urls += [link["url"] for link in prop["value"]]
    return urls


def test_every_link_to_a_dashboard_leads_to_one_that_exists() -> None:
    uids = {board["uid"] for board in BOARDS.values()}
    targets = {
        name: {uid for url in _links(board) for uid in re.findall(r"^/d/([\w-]+)", url)}
        for name, board in BOARDS.items()
    }

    assert targets["amnesty-returns"] >= {"amnesty-operations", "amnesty-returns"}
    assert targets["amnesty-operations"] >= {"amnesty-returns"}
    assert set().union(*targets.values()) <= uids


def test_a_region_opens_the_returns_dashboard_filtered_on_it() -> None:
    regions = by_title(RETURNS, "By region")
    [link] = [
        link
        for override in regions["fieldConfig"]["overrides"]
        if override["matcher"]["options"] == "Region"
        for prop in override["properties"]
        if prop["id"] == "links"
        for link in prop["value"]
    ]
    columns = re.findall(r'AS "([^"]+)"', regions["targets"][0]["rawSql"])

    assert link["url"].startswith("/d/amnesty-returns?")
    assert "var-region=${__data.fields.Code}" in link["url"]
    assert "Code" in columns
    for kept in ("${article:queryparam}", "${__url_time_range}", "${postgres:queryparam}"):
        assert kept in link["url"]
