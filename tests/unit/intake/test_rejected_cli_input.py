"""`amnesty rejected` checks ids, reasons, services, times and limits before it reads a setting."""

from __future__ import annotations

import pytest

from amnesty_intake.entrypoints import rejected_cli
from tests.unit.usage_errors import usage_error


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("amnesty rejected read its settings: work started")

    monkeypatch.setattr(rejected_cli, "IntakeSettings", refuse)


@pytest.mark.usefixtures("no_work")
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["show", "17"],
            "Invalid value for 'ID': '17' is not a rejected message's id: write PARTITION:OFFSET, e.g. 2:17",
        ),
        (
            ["redrive", "2:17", "x"],
            "Invalid value for 'ID': 'x' is not a rejected message's id: write PARTITION:OFFSET, e.g. 2:17",
        ),
        (
            ["list", "--service", "upstream"],
            "Invalid value for '--service': 'upstream' is not a service: "
            "one of intake, eligibility, statistics",
        ),
        (
            ["list", "--since", "2026-02-30"],
            "Invalid value for '--since': '2026-02-30' is not a day or a time: write YYYY-MM-DD or "
            "YYYY-MM-DDTHH:MM[:SS][+HH:MM], e.g. 2026-12-01 or 2026-12-01T08:30Z",
        ),
        (
            ["list", "--since", "2026-12-02", "--until", "2026-12-01T23:00Z"],
            "Invalid value for '--until': 2026-12-01T23:00:00+00:00 is not after --since",
        ),
        (
            ["redrive", "--reason", "invalid-field", "2:17"],
            "Invalid value for 'ID': give IDs or filters, not both",
        ),
        (
            ["redrive", "--dry-run"],
            "Invalid value for 'ID': choose what to re-drive: IDs, or at least one of --reason, --service, "
            "--since, --until",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], line: str) -> None:
    assert usage_error(["rejected", *args]) == line


@pytest.mark.usefixtures("no_work")
@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["list", "--reason", "typo"], "--reason"),
        (["list", "--limit", "0"], "--limit"),
        (["redrive", "--reason", "invalid-field", "--limit", "10001"], "--limit"),
    ],
)
def test_a_value_out_of_its_choices_or_range_is_refused(args: list[str], option: str) -> None:
    assert usage_error(["rejected", *args]).startswith(f"Invalid value for '{option}'")


def test_a_naive_time_is_utc_and_a_day_is_its_midnight() -> None:
    assert rejected_cli.moment("2026-12-01").isoformat() == "2026-12-01T00:00:00+00:00"
    assert rejected_cli.moment("2026-12-01T08:30").isoformat() == "2026-12-01T08:30:00+00:00"
    assert rejected_cli.moment("2026-12-01T10:30+02:00").isoformat() == "2026-12-01T10:30:00+02:00"
