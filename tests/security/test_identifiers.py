"""One soldier, one pseudonym, whatever the spelling; no name or phone number rides past intake.

The findings: `" 3012345678 "`, its full-width and its Arabic-Indic spellings were three persons, and
`unit` / `submission_id` carried a name and a phone number verbatim onto amnesty.cases.v1. A real
intake process on the real Kafka and PostgreSQL, through both doors (HTTP and the upstream topic).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.intake import (
    SOURCE_TOKENS,
    IntakeUnderTest,
    encoded,
    intake_under_test,
    recorded_submission_id,
    submission,
)
from tests.support.kafka import read_all

pytestmark = pytest.mark.integration

SPELLINGS = {
    "padded": " 3012345678 ",
    "full-width": "\uff13\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",
    "arabic-indic": "\u0663\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668",
    "canonical": "3012345678",
}
NAME_AND_PHONE = "soldier Petrenko I.I., tel +380501234567"


@pytest.fixture(scope="module")
async def intake(
    endpoints: Endpoints, admin_pool: Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[IntakeUnderTest]:
    logs = tmp_path_factory.mktemp("intake") / "intake.log"
    async with intake_under_test(endpoints, admin_pool, logs) as service:
        await service.process.start()
        yield service


async def _post(intake: IntakeUnderTest, body: object) -> list[dict[str, object]]:
    headers = {"Authorization": f"Bearer {SOURCE_TOKENS['erdr']}"}
    async with httpx2.AsyncClient(base_url=intake.process.url, headers=headers, timeout=30) as http:
        answer = await http.post("/v1/submissions", json=body)
    assert answer.status_code == 200, answer.text
    results: list[dict[str, object]] = answer.json()["results"]
    return results


async def _cases(intake: IntakeUnderTest) -> list[dict[str, Any]]:
    await intake.consumed_everything()
    await intake.published_everything()
    return [json.loads(r.value) for r in await read_all(intake.bootstrap, intake.cases)]


async def test_every_spelling_of_one_tax_number_is_one_person(intake: IntakeUnderTest) -> None:
    sent = {
        name: submission("VoluntaryReturn", submission_id=f"spelling-{name}", person_id=spelling)
        for name, spelling in SPELLINGS.items()
    }
    results = await _post(intake, [sent["padded"], sent["full-width"], sent["canonical"]])
    assert [r["status"] for r in results] == ["accepted"] * 3
    await intake.publish([encoded(sent["arabic-indic"])])  # the Kafka door normalizes the same way

    ids = {recorded_submission_id(s["submission_id"]): name for name, s in sent.items()}
    cases = [c for c in await _cases(intake) if c["submission"]["submission_id"] in ids]
    persons = {ids[c["submission"]["submission_id"]]: c["person"] for c in cases}
    assert set(persons) == set(SPELLINGS)
    assert len(set(persons.values())) == 1, persons


async def test_a_resend_in_another_spelling_is_a_duplicate(intake: IntakeUnderTest) -> None:
    first = submission("VoluntaryReturn", submission_id="resend-1", person_id=SPELLINGS["canonical"])
    again = first | {"person_id": SPELLINGS["arabic-indic"]}
    assert [r["status"] for r in await _post(intake, [first, again])] == ["accepted", "duplicate"]


@pytest.mark.parametrize("person_id", ["Petrenko Ivan", "+380501234567", "30123456789", "3012345678\u0000"])
async def test_anything_but_a_tax_or_service_number_is_rejected_naming_person_id(
    intake: IntakeUnderTest, person_id: str
) -> None:
    (result,) = await _post(intake, submission("Detained", person_id=person_id, detained_on="2025-03-01"))
    assert (result["status"], result["reason"]) == ("rejected", "invalid-field")
    assert str(result["detail"]).startswith("person_id: must be a tax number")


async def test_free_text_with_a_name_and_a_phone_is_rejected(intake: IntakeUnderTest) -> None:
    results = await _post(
        intake,
        [
            submission("VoluntaryReturn", submission_id="free-text-unit", unit=NAME_AND_PHONE),
            submission("VoluntaryReturn", submission_id=NAME_AND_PHONE),
        ],
    )
    assert [(r["status"], r["reason"]) for r in results] == [("rejected", "invalid-field")] * 2
    assert str(results[0]["detail"]).startswith("unit:")
    assert str(results[1]["detail"]).startswith("submission_id:")


async def test_what_a_pattern_cannot_tell_from_a_record_id_is_pseudonymized(intake: IntakeUnderTest) -> None:
    named = submission("CaseOpened", submission_id="petrenko-ivan-1990-05-01", unit="Petrenko 380501234567")
    (result,) = await _post(intake, named)
    assert result["status"] == "accepted"
    cases = json.dumps(await _cases(intake))
    assert "petrenko" not in cases.lower()
    assert "380501234567" not in cases
    assert recorded_submission_id("petrenko-ivan-1990-05-01") in cases
