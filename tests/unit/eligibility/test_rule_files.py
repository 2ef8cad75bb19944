"""Rule sets as TOML files: the shipped ones load; a wrong file is refused with what is wrong."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from amnesty_eligibility.adapters.rule_files import (
    PACKAGED,
    RuleFileError,
    load_packaged_rule_set,
    load_rule_file,
    load_rule_set,
    parse_rule_set,
)
from amnesty_eligibility.settings import ACTIVE_RULE_SET, EligibilitySettings

EXAMPLES = Path(str(PACKAGED / "examples"))

VALID = """
version = "test-1"
[[regimes]]
id = "window-x"
absence_by = 2025-01-31
returns_from = 2025-02-01
returns_until = 2025-02-28
"""


def test_the_rule_set_in_force_is_shipped_in_the_package() -> None:
    rules = load_packaged_rule_set(ACTIVE_RULE_SET)
    assert rules.version == ACTIVE_RULE_SET
    assert [r.id for r in rules.regimes] == ["window-1", "window-2", "pilot-2026"]
    assert (rules.reinstate_within_hours, rules.same_return_within_days) == (72, 3)


def test_the_example_extends_window_2_to_the_end_of_2025() -> None:
    rules = load_rule_file(EXAMPLES / "window-2-extended-2025-12-31.toml")
    windows = {r.id: r for r in rules.regimes}
    assert windows["window-2"].returns_until == date(2025, 12, 31)
    active = {r.id: r for r in load_packaged_rule_set(ACTIVE_RULE_SET).regimes}
    assert windows["window-1"] == active["window-1"]
    assert windows["pilot-2026"] == active["pilot-2026"]


def test_the_example_without_windows_has_no_regimes() -> None:
    rules = load_rule_file(EXAMPLES / "no-windows.toml")
    assert (rules.version, rules.regimes) == ("no-windows", ())


def test_defaults_apply_when_a_file_leaves_the_constants_out() -> None:
    rules = parse_rule_set(VALID)
    assert (rules.version, rules.reinstate_within_hours, rules.same_return_within_days) == ("test-1", 72, 3)
    assert rules.regimes[0].absence_by == date(2025, 1, 31)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        pytest.param(VALID.replace("absence_by", "absense_by"), "absense_by", id="misspelt key"),
        pytest.param(
            VALID.replace("returns_until = 2025-02-28", "returns_until = 2025-01-28"),
            "before",
            id="empty window",
        ),
        pytest.param(VALID + VALID.split("\n", 2)[2], "unique", id="duplicate regime id"),
        pytest.param(VALID.replace('id = "window-x"', 'id = "Window X"'), "regimes.0.id", id="bad regime id"),
        pytest.param(VALID.replace("2025-01-31", '"2025-01-31"'), "absence_by", id="date as a string"),
        pytest.param(VALID.replace('version = "test-1"', ""), "version", id="no version"),
        pytest.param("version = ", "not TOML", id="not toml"),
    ],
)
def test_a_wrong_file_is_refused_saying_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(RuleFileError, match=complaint):
        parse_rule_set(text)


def test_a_missing_file_or_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match=r"missing\.toml"):
        load_rule_file(tmp_path / "missing.toml")
    with pytest.raises(RuleFileError, match=f"shipped: {ACTIVE_RULE_SET}"):
        load_packaged_rule_set("1999-01-01")


def test_the_configured_file_takes_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(VALID, encoding="utf-8")
    monkeypatch.setenv("AMNESTY_ELIGIBILITY_RULES_FILE", str(path))
    settings = EligibilitySettings()
    assert load_rule_set(settings.rule_set, settings.rules_file).version == "test-1"
    monkeypatch.delenv("AMNESTY_ELIGIBILITY_RULES_FILE")
    settings = EligibilitySettings()
    assert load_rule_set(settings.rule_set, settings.rules_file).version == ACTIVE_RULE_SET
