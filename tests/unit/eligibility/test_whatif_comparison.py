"""The what-if comparison: the same histories decided under two rule sets, counted side by side."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.console import Console

from amnesty_eligibility.adapters.rule_files import PACKAGED, load_rule_file
from amnesty_eligibility.domain.decisions import DENIED, GRANTED, Outcome
from amnesty_eligibility.domain.history import fold
from amnesty_eligibility.entrypoints.whatif_cli import render
from amnesty_eligibility.service_layer.whatif import Comparison
from tests.unit.eligibility.examples import RULES, detained, opened, returned

EXTENDED = load_rule_file(Path(str(PACKAGED / "examples" / "window-2-extended-2025-12-31.toml")))
HISTORIES = [
    fold("p1", [opened(absent_since="2025-03-01", person="p1"), returned("2025-10-01", person="p1")]),
    fold("p2", [opened(absent_since="2025-03-01", person="p2"), returned("2025-06-01", person="p2")]),
    fold("p3", [opened(absent_since="2025-03-01"), detained("2025-10-02")]),
    fold("p4", [returned("2025-10-01", person="p4")]),
]


def test_the_comparison_counts_each_rule_set_and_what_changes() -> None:
    comparison = Comparison(RULES, EXTENDED)
    for history in HISTORIES:
        comparison.add(history)
    assert comparison.under_active == {
        Outcome(DENIED, "outside-window"): 1,
        Outcome(GRANTED, "window-2"): 1,
        Outcome(DENIED, "not-voluntary"): 1,
        Outcome("EligibilityPending", "case-unknown"): 1,
    }
    assert comparison.under_alternative[Outcome(GRANTED, "window-2")] == 2
    assert comparison.under_alternative[Outcome(DENIED, "outside-window")] == 0
    assert (comparison.returns, comparison.returns_changed) == (4, 1)
    assert (comparison.persons, comparison.persons_changed) == (4, 1)


def test_only_returns_in_the_period_count() -> None:
    comparison = Comparison(RULES, EXTENDED, since=date(2025, 9, 1), until=date(2025, 10, 1))
    for history in HISTORIES:
        comparison.add(history)
    assert (comparison.returns, comparison.persons, comparison.persons_changed) == (2, 2, 1)


def test_the_table_shows_every_regime_and_reason_beside_each_other() -> None:
    comparison = Comparison(RULES, EXTENDED)
    for history in HISTORIES:
        comparison.add(history)
    console = Console(record=True, width=150)
    console.print(render(comparison))
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in console.export_text().splitlines()
        if line.startswith("│")
    ]
    assert rows == [
        ["granted", "window-1", "0", "0", ""],
        ["granted", "window-2", "1", "2", "+1"],
        ["granted", "pilot-2026", "0", "0", ""],
        ["denied", "repeat-offence", "0", "0", ""],
        ["denied", "not-voluntary", "1", "1", ""],
        ["denied", "outside-window", "1", "0", "-1"],
        ["pending", "case-unknown", "1", "1", ""],
    ]
