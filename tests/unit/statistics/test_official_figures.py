"""The official returns figures the live page and the dashboards draw are the published ones."""

from __future__ import annotations

from datetime import date

from amnesty_simulator.calibration import read_figures
from amnesty_statistics.domain.official_figures import OFFICIAL_RETURNS, WINDOW_OPENED


def test_the_reference_points_are_the_simulators_published_cumulative_returns() -> None:
    published = [
        (date.fromisoformat(f.period.split("..")[1]), f.value, f.qualifier)
        for f in read_figures()
        if f.series == "returns_cumulative"
    ]
    assert [(o.on, o.value, o.qualifier.value) for o in OFFICIAL_RETURNS] == sorted(published)
    assert {f.period.split("..")[0] for f in read_figures() if f.series == "returns_cumulative"} == {
        WINDOW_OPENED.isoformat()
    }


def test_a_reference_point_reads_as_published() -> None:
    labels = [o.as_json()["label"] for o in OFFICIAL_RETURNS]
    assert labels == ["≥8,000", "≈10,000", "≈21,100", "≥29,000"]
