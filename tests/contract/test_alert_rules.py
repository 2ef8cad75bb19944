"""The Prometheus alert rules (deploy/prometheus/rules) load, fire as their promtool unit tests say,
carry what an on-call engineer needs, use only metrics the services export, and agree with the levels
at which the operations dashboard changes colour.

promtool is Debian's (the `prometheus` package, which `make install` installs; where it is missing, as in
the compose profile's image, its tests are skipped); the rules' own tests are in alert_rules.test.yml
beside this file. Each document check is also shown to find the faults it looks for on a deliberately
broken rule.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import dashboards

REPO = Path(__file__).resolve().parents[2]
RULES = sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.rules.yml"))
RULE_TESTS = Path(__file__).with_name("alert_rules.test.yml")
PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
COMPOSE_FILE = REPO / "docker-compose.yml"
# Where the services define what /metrics exports.
METRIC_SOURCES = [
    REPO / "libs" / "runtime" / "src" / "amnesty_runtime" / "metrics.py",
    REPO / "libs" / "eventstore" / "src" / "amnesty_eventstore" / "metrics.py",
    REPO / "services" / "statistics" / "src" / "amnesty_statistics" / "entrypoints" / "metrics.py",
]
SEVERITIES = {"critical", "warning"}
# What the brief of the rules asks them to watch, by alert.
EXPECTED_ALERTS = {
    "AmnestyServiceDown",
    "AmnestyConsumerLagging",
    "AmnestyProjectionLagging",
    "AmnestyProjectionStalled",
    "AmnestyRejectionsGrowing",
    "AmnestyOutboxBacklog",
    "AmnestyOutboxStuck",
    "AmnestyOutboxParked",
    "AmnestyLongOpenTransaction",
}

Rule = Mapping[str, Any]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("promtool")
    if executable is None:
        # As test_compose's config check: the compose profile's image has no promtool; `make test` has.
        pytest.skip(
            "promtool is not installed (Debian's prometheus package has it; `make install` installs it)"
        )
    return subprocess.run(
        [executable, *args], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


def alert_rules(path: Path) -> Iterator[Rule]:
    for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
        yield from (rule for rule in group["rules"] if "alert" in rule)


def all_alert_rules() -> list[Rule]:
    return [rule for path in RULES for rule in alert_rules(path)]


def exported_metrics() -> set[str]:
    """The series names the services' collectors expose: a Counter's with _total, a Histogram's
    buckets, sum and count."""
    names = set()
    for source in METRIC_SOURCES:
        text = source.read_text(encoding="utf-8")
        for kind, name in re.findall(r"\b(Counter|Gauge|Histogram)\(\s*\"(amnesty_\w+)\"", text):
            if kind == "Counter":
                names.add(f"{name}_total")
            elif kind == "Histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
            else:
                names.add(name)
    return names


# --- checks of a rule ---------------------------------------------------------------------------------


def annotation_problems(rule: Rule) -> list[str]:
    problems = []
    if rule.get("labels", {}).get("severity") not in SEVERITIES:
        problems.append(f"{rule['alert']}: severity is not one of {sorted(SEVERITIES)}")
    for annotation in ("summary", "description"):
        if not str(rule.get("annotations", {}).get(annotation, "")).strip():
            problems.append(f"{rule['alert']}: no {annotation}")
    if not rule.get("for"):
        problems.append(f"{rule['alert']}: fires on a single evaluation (no `for`)")
    return problems


def metric_problems(rule: Rule, exported: set[str]) -> list[str]:
    used = set(re.findall(r"\bamnesty_\w+", rule["expr"]))
    return [f"{rule['alert']}: {name} is not exported by any service" for name in sorted(used - exported)]


BROKEN_RULE: Rule = {
    "alert": "Broken",
    "expr": "amnesty_no_such_metric_total > 0",
    "labels": {"severity": "page-everyone"},
    "annotations": {"summary": ""},
}


# --- the rules ----------------------------------------------------------------------------------------


def test_there_are_rules_for_what_operations_watch() -> None:
    assert RULES
    assert {rule["alert"] for rule in all_alert_rules()} == EXPECTED_ALERTS


@pytest.mark.parametrize("path", RULES, ids=lambda path: path.name)
def test_promtool_accepts_the_rules(path: Path) -> None:
    result = promtool("check", "rules", str(path))

    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_refuses_a_broken_rule_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.rules.yml"
    broken.write_text("groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: 'sum(('\n")

    result = promtool("check", "rules", str(broken))

    assert result.returncode != 0


def test_every_rule_fires_and_stays_silent_as_its_unit_tests_say() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_is_unit_tested_firing_and_silent() -> None:
    cases = [
        case for test in yaml.safe_load(RULE_TESTS.read_text())["tests"] for case in test["alert_rule_test"]
    ]
    firing = {case["alertname"] for case in cases if case["exp_alerts"]}
    silent = {case["alertname"] for case in cases if not case["exp_alerts"]}

    assert firing == EXPECTED_ALERTS
    assert silent == EXPECTED_ALERTS


@pytest.mark.parametrize("rule", all_alert_rules(), ids=lambda rule: rule["alert"])
def test_every_rule_has_a_severity_a_summary_and_a_description(rule: Rule) -> None:
    assert annotation_problems(rule) == []


@pytest.mark.parametrize("rule", all_alert_rules(), ids=lambda rule: rule["alert"])
def test_every_rule_uses_metrics_the_services_export(rule: Rule) -> None:
    assert metric_problems(rule, exported_metrics()) == []


def test_the_rule_checks_find_the_faults_of_a_broken_rule() -> None:
    assert len(annotation_problems(BROKEN_RULE)) == 4
    assert metric_problems(BROKEN_RULE, exported_metrics()) != []


def test_the_exported_metrics_include_the_contracts_operational_ones() -> None:
    assert exported_metrics() >= {
        "amnesty_messages_consumed_total",
        "amnesty_messages_rejected_total",
        "amnesty_outbox_pending",
        "amnesty_projection_lag_seconds",
        "amnesty_handler_seconds_bucket",
        "amnesty_eventstore_oldest_xact_seconds",
        "amnesty_outbox_published_total",
    }


# --- where Prometheus finds them ----------------------------------------------------------------------


def test_prometheus_loads_every_rule_file_and_no_test_file() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    prometheus = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]["prometheus"]
    mounts = {target: source for source, target, *_ in (v.split(":") for v in prometheus["volumes"])}

    loaded: set[Path] = set()
    for pattern in config["rule_files"]:
        folder, glob = pattern.rsplit("/", 1)
        loaded |= set((REPO / mounts[folder]).glob(glob))

    assert sorted(loaded) == RULES
    assert RULE_TESTS not in loaded


# --- the operations dashboard agrees --------------------------------------------------------------------


def _level(alert: str) -> float:
    [rule] = [rule for rule in all_alert_rules() if rule["alert"] == alert]
    return float(re.findall(r">\s*([\d.]+)\s*$", rule["expr"])[0])


def _steps(title: str) -> dict[str, float]:
    board = dashboards.dashboards()["amnesty-operations"]
    [panel] = [p for p in dashboards.panels(board) if p["title"] == title and p["type"] == "stat"]
    return {s["color"]: s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]}


@pytest.mark.parametrize(
    ("title", "colour", "alert"),
    [
        ("Projection lag", "orange", "AmnestyProjectionLagging"),
        ("Projection lag", "red", "AmnestyProjectionStalled"),
        ("Outbox pending", "orange", "AmnestyOutboxBacklog"),
        ("Oldest open transaction", "orange", "AmnestyLongOpenTransaction"),
    ],
)
def test_the_operations_stats_change_colour_where_the_alerts_fire(
    title: str, colour: str, alert: str
) -> None:
    assert _steps(title)[colour] == _level(alert)
