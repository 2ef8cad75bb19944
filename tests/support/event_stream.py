"""A random but reproducible history of case events and decisions, and the figures it must come to.

Enough variety to exercise a projection: late cases (a return and its pending decision before the case),
reclassifications, detentions, closings, denials, grants later revoked, second absences.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from amnesty_contracts import CaseEvent, DecisionEvent
from amnesty_statistics.domain.figures import Counts, add_into
from amnesty_statistics.domain.persons import EMPTY, PersonState, apply
from amnesty_statistics.domain.projection import contributions
from tests.support.domain_events import EventFactory, Return

Event = CaseEvent | DecisionEvent

REGIONS = ("UA-05", "UA-12", "UA-30", "UA-46", "UA-48", "UA-63")
START = date(2024, 11, 1)


def history(seed: int, persons: int, factory: EventFactory | None = None) -> list[Event]:
    """Each person's events in the order their producers would publish them; persons interleaved."""
    rng = random.Random(seed)
    f = factory or EventFactory()
    stories = [_person(rng, f, f"p{seed}-{n}") for n in range(persons)]
    events: list[Event] = []
    while stories:
        story = rng.choice(stories)
        events.append(story.pop(0))
        if not story:
            stories.remove(story)
    return events


def _person(rng: random.Random, f: EventFactory, person: str) -> list[Event]:
    article = rng.choice(("407", "408"))
    registered = START + timedelta(days=rng.randrange(300))
    case = f.case_opened(person, f"{person}-c1", registered, region=rng.choice(REGIONS), article=article)
    story: list[Event] = []
    if rng.random() < 0.2:
        other = "408" if article == "407" else "407"
        story.append(
            f.reclassified(person, f"{person}-c1", other, registered + timedelta(days=rng.randrange(1, 60)))
        )
    roll = rng.random()
    if roll < 0.6:
        ret = f.voluntary_return(
            person, registered + timedelta(days=rng.randrange(-5, 120)), region=rng.choice((None, *REGIONS))
        )
        if rng.random() < 0.15:  # the return reaches the system before its case
            story = [ret, f.pending(ret), case, *story, *_decisions(rng, f, ret)]
        else:
            story = [case, *story, ret, *_decisions(rng, f, ret)]
    elif roll < 0.7:
        detention = f.detained(person, registered + timedelta(days=rng.randrange(1, 200)))
        story = [case, *story, detention, f.denied(detention, "not-voluntary")]
    elif roll < 0.8:
        story = [
            case,
            *story,
            f.closed(person, f"{person}-c1", registered + timedelta(days=rng.randrange(1, 200))),
        ]
    else:
        story = [case, *story]
    if rng.random() < 0.05:  # a second absence after the first return
        again = registered + timedelta(days=rng.randrange(150, 300))
        second = f.case_opened(person, f"{person}-c2", again, region=rng.choice(REGIONS))
        ret = f.voluntary_return(person, again + timedelta(days=rng.randrange(1, 30)))
        story += [second, ret, f.denied(ret, "repeat-offence")]
    return story


def _decisions(rng: random.Random, f: EventFactory, ret: Return) -> list[Event]:
    roll = rng.random()
    if roll < 0.5:
        return [f.granted(ret, rng.choice(("window-1", "window-2", "pilot-2026")))]
    if roll < 0.8:
        return [f.denied(ret, rng.choice(("outside-window", "repeat-offence")))]
    grant = f.granted(ret, "window-2")
    return [grant, f.revoked(ret, grant, "repeat-offence")]


def expected_figures(events: list[Event]) -> dict[tuple[str, str, str, str, str, str], int]:
    """What the daily table must hold after ``events``, by the pure projection (zero cells left out)."""
    states: dict[str, PersonState] = {}
    for event in events:
        states[event.person] = apply(states.get(event.person, EMPTY), event)
    total: Counts = {}
    for state in states.values():
        add_into(total, contributions(state))
    return {
        (c.metric.value, c.day.isoformat(), c.region, c.article, c.regime, c.reason): n
        for c, n in total.items()
    }
