"""`amnesty whatif` checks its rule file and dates before it reads any setting or touches the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from amnesty_eligibility.adapters.rule_files import PACKAGED
from amnesty_eligibility.domain.regimes import RuleSet
from amnesty_eligibility.entrypoints import whatif_cli
from amnesty_eligibility.entrypoints.calendar_days import calendar_day
from amnesty_eligibility.service_layer.whatif import Comparison
from tests.unit.usage_errors import run, usage_error

NO_WINDOWS = str(Path(str(PACKAGED / "examples" / "no-windows.toml")))


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("whatif read its settings: work started")

    monkeypatch.setattr(whatif_cli, "EligibilitySettings", refuse)


@pytest.mark.usefixtures("no_work")
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--from", "2025-02-30"],
            "Invalid value for '--from': 2025-02-30 is an impossible date: 2025-02 has days 01 to 28",
        ),
        (
            ["--to", "2024-02-30"],
            "Invalid value for '--to': 2024-02-30 is an impossible date: 2024-02 has days 01 to 29",
        ),
        (
            ["--from", "2025-04-00"],
            "Invalid value for '--from': 2025-04-00 is an impossible date: 2025-04 has days 01 to 30",
        ),
        (
            ["--from", "2025-13-01"],
            "Invalid value for '--from': 2025-13-01 is an impossible date: months run from 01 to 12",
        ),
        (
            ["--from", "0000-01-01"],
            "Invalid value for '--from': 0000-01-01 is an impossible date: there is no year 0000",
        ),
        (
            ["--from", "1/3/2025"],
            "Invalid value for '--from': '1/3/2025' is not a date: write it YYYY-MM-DD, e.g. 2025-03-01",
        ),
        (
            ["--from", "2025-03-01", "--to", "2025-02-28"],
            "Invalid value for '--to': 2025-02-28 is before --from 2025-03-01",
        ),
    ],
)
def test_a_bad_date_is_one_usage_error_and_nothing_is_read(args: list[str], line: str) -> None:
    assert usage_error(["whatif", "--rules", NO_WINDOWS, *args]) == line


@pytest.mark.usefixtures("no_work")
def test_a_missing_rule_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert (
        usage_error(["whatif", "--rules", str(missing)])
        == f"Invalid value for '--rules': {missing}: no such file"
    )


@pytest.mark.usefixtures("no_work")
def test_a_directory_or_a_device_is_not_a_rule_file(tmp_path: Path) -> None:
    for path in (str(tmp_path), "/dev/zero"):
        assert (
            usage_error(["whatif", "--rules", path])
            == f"Invalid value for '--rules': {path}: not a regular file"
        )


@pytest.mark.usefixtures("no_work")
def test_a_binary_file_is_not_a_rule_file(tmp_path: Path) -> None:
    binary = tmp_path / "rules.toml"
    binary.write_bytes(b"\xff\xfe\x00version")
    line = usage_error(["whatif", "--rules", str(binary)])
    assert line == f"Invalid value for '--rules': {binary}: not UTF-8 text, not a rule-set file"


@pytest.mark.usefixtures("no_work")
def test_a_huge_file_is_not_read(tmp_path: Path) -> None:
    huge = tmp_path / "rules.toml"
    with huge.open("wb") as f:
        f.truncate(2 * 1024 * 1024)
    line = usage_error(["whatif", "--rules", str(huge)])
    assert line == f"Invalid value for '--rules': {huge}: larger than 1 MiB, not a rule-set file"


@pytest.mark.usefixtures("no_work")
def test_a_wrong_rule_file_says_what_is_wrong(tmp_path: Path) -> None:
    wrong = tmp_path / "rules.toml"
    wrong.write_text('version = "x"\nregimes = [1]\n')
    line = usage_error(["whatif", "--rules", str(wrong)])
    assert line.startswith(f"Invalid value for '--rules': {wrong}: regimes.0")


@pytest.mark.usefixtures("no_work")
def test_the_rule_file_is_required() -> None:
    assert "--rules" in usage_error(["whatif"])


@dataclass(frozen=True)
class _Endpoints:
    def database_url(self, service: str) -> str:
        return f"postgresql://{service}@stub/amnesty"


def test_good_values_reach_the_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[RuleSet, date | None, date | None]] = []

    async def compare(
        dsn: str,
        schema: str,
        active: RuleSet,
        alternative: RuleSet,
        *,
        since: date | None,
        until: date | None,
        advance: object,
    ) -> Comparison:
        compared.append((alternative, since, until))
        return Comparison(active, alternative, since, until)

    monkeypatch.setattr(whatif_cli, "_compare", compare)
    monkeypatch.setattr(whatif_cli, "resolve", lambda _: _Endpoints())
    result = run(["whatif", "--rules", NO_WINDOWS, "--from", "2024-02-29", "--to", "2025-03-01"])
    assert result.exit_code == 0, result.output
    [(alternative, since, until)] = compared
    assert (alternative.version, since, until) == ("no-windows", date(2024, 2, 29), date(2025, 3, 1))


@given(st.text())
def test_any_text_is_a_day_or_a_bad_parameter(text: str) -> None:
    try:
        day = calendar_day(text)
    except typer.BadParameter:
        return
    assert day.isoformat() == text


@given(st.integers(-1, 10_000), st.integers(-1, 99), st.integers(-1, 99))
def test_any_year_month_and_day_number_is_a_day_or_a_bad_parameter(year: int, month: int, day: int) -> None:
    text = f"{year:04d}-{month:02d}-{day:02d}"
    try:
        expected: date | None = date.fromisoformat(text)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(typer.BadParameter, match=r"impossible date|not a date"):
            calendar_day(text)
    else:
        assert calendar_day(text) == expected
