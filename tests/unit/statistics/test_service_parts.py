"""The parts of the service that need no infrastructure: state documents, gauges, the CLI plugin."""

from __future__ import annotations

from datetime import date
from importlib.metadata import entry_points
from uuid import UUID

import typer
from prometheus_client import CollectorRegistry, generate_latest
from typer.main import get_command

from amnesty_statistics.adapters import person_states
from amnesty_statistics.adapters.stats_queries import Total
from amnesty_statistics.domain.persons import (
    EMPTY,
    Case,
    Decision,
    DecisionKind,
    PersonState,
    ReturnDecisions,
)
from amnesty_statistics.entrypoints.metrics import BusinessFigures
from tests.support.domain_events import EventFactory
from tests.unit.statistics.test_projection import _granted_then_revoked, _reclassified, fold


def test_a_person_state_survives_its_json_document() -> None:
    f = EventFactory()
    for events in (_granted_then_revoked(f), _reclassified(f), []):
        state = fold(events)
        assert person_states.decode(person_states.encode(state)) == state
    assert person_states.decode("{}") == EMPTY


def test_a_person_state_document_keeps_its_stored_form() -> None:
    # Stored documents outlive releases: dates as ISO days, UUIDs as canonical text, seen ids sorted.
    opened, seen_late, seen_early = (
        UUID("0196a1f0-7c1e-7a3e-9b1d-3f6c2a9e4b10"),
        UUID("ffffffff-0000-4000-8000-000000000001"),
        UUID("00000000-0000-4000-8000-000000000002"),
    )
    state = PersonState(
        cases={"c-1": Case("c-1", "407", "UA-48", date(2024, 1, 2), date(2024, 1, 9), opened)},
        decisions={
            ("army-plus", "s-1"): ReturnDecisions(
                Decision(DecisionKind.GRANTED, date(2024, 12, 1), "window-1", "", opened),
                frozenset({seen_late, seen_early}),
            )
        },
    )
    assert person_states.encode(state) == (
        '{"cases":[{"number":"c-1","article":"407","region":"UA-48","absent_since":"2024-01-02",'
        '"registered_on":"2024-01-09","opened_by":"0196a1f0-7c1e-7a3e-9b1d-3f6c2a9e4b10"}],'
        '"reclassifications":[],"endings":[],"decisions":[{"source":"army-plus","submission_id":"s-1",'
        '"kind":"granted","on":"2024-12-01","regime":"window-1","reason":"",'
        '"event_id":"0196a1f0-7c1e-7a3e-9b1d-3f6c2a9e4b10","seen":["00000000-0000-4000-8000-000000000002",'
        '"ffffffff-0000-4000-8000-000000000001"]}]}'
    )
    assert person_states.decode(person_states.encode(state)) == state


def test_the_business_gauges_sum_the_totals_over_what_their_labels_do_not_carry() -> None:
    figures = BusinessFigures()
    figures.update(
        [
            Total("cases_opened", "UA-48", "407", "", "", 3),
            Total("cases_opened", "UA-48", "408", "", "", 1),
            Total("voluntary_returns", "UA-48", "407", "", "", 2),
            Total("voluntary_returns", "UA-48", "408", "", "", 1),
            Total("amnesties_granted", "UA-48", "407", "window-1", "", 2),
            Total("amnesties_granted", "UA-30", "407", "window-1", "", 1),
            Total("revoked", "UA-48", "407", "window-1", "repeat-offence", 1),
            Total("open_cases_change", "UA-48", "407", "", "", 1),
            Total("open_cases_change", "UA-48", "408", "", "", 0),
        ]
    )
    registry = CollectorRegistry()
    registry.register(figures)
    text = generate_latest(registry).decode()
    assert 'amnesty_cases_opened{article="407",region="UA-48"} 3.0' in text
    assert 'amnesty_cases_opened{article="408",region="UA-48"} 1.0' in text
    assert 'amnesty_voluntary_returns{region="UA-48"} 3.0' in text
    assert 'amnesty_decisions{decision="granted",reason="",regime="window-1"} 3.0' in text
    assert 'amnesty_decisions{decision="revoked",reason="repeat-offence",regime="window-1"} 1.0' in text
    assert 'amnesty_open_cases{region="UA-48"} 1.0' in text


def test_the_rebuild_command_is_registered_with_the_amnesty_cli() -> None:
    (entry,) = [e for e in entry_points(group="amnesty.cli") if e.name == "rebuild"]
    plugin = entry.load()
    assert isinstance(plugin, typer.Typer)
    command = get_command(plugin)
    assert "statistics" in command.commands  # type: ignore[attr-defined]
