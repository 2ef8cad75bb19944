"""`amnesty rejected` against a real intake process, Kafka and PostgreSQL: what intake rejected is listed,
shown and re-driven through intake once, never twice, and never in a loop."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from amnesty_contracts import MAX_MESSAGE_BYTES, Rejection, RejectionReason, rejected_message
from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.intake import (
    IntakeUnderTest,
    encoded,
    intake_under_test,
    recorded_submission_id,
    submission,
)
from tests.support.kafka import end_offsets, kafka_test_broker, read_all
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

RAW_PERSON = "3012345678"
IMPOSSIBLE_DAY = encoded(submission(submission_id="bad-day", registered_on="2025-02-30"))
_SECRETS = ("AMNESTY_PSEUDONYM_KEY", "AMNESTY_INTAKE_API_TOKEN")
TOO_LARGE = encoded(submission(submission_id="too-large", unit="u" * (MAX_MESSAGE_BYTES + 10)))


@pytest.fixture
async def intake(endpoints: Endpoints, admin_pool: Pool, tmp_path: Path) -> AsyncIterator[IntakeUnderTest]:
    async with intake_under_test(endpoints, admin_pool, tmp_path / "intake.log") as service:
        await service.process.start()
        yield service


async def _amnesty(intake: IntakeUnderTest, *args: str) -> tuple[int, str]:
    """`amnesty rejected <args>` as an operator runs it, on this intake's schema and topics."""
    # The service's own settings (schema, topics, database) without its secrets: the command needs none.
    settings = {k: v for k, v in intake.process.env.items() if k not in _SECRETS}
    env = {**os.environ, **settings}  # noqa: TID251 - a child process inherits the environment
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "amnesty"),
        "rejected",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return await process.wait(), out.decode()


async def _settled(intake: IntakeUnderTest) -> list[dict[str, object]]:
    """Everything intake was given is consumed and its outbox published; what the rejected topic holds."""
    outbox = f'SELECT count(*) FROM "{intake.schema}".outbox'
    await eventually(lambda: intake.pool.fetchval(outbox), lambda n: n == 0)
    await intake.consumed_everything()
    await eventually(lambda: intake.pool.fetchval(outbox), lambda n: n == 0)
    return [json.loads(r.value) for r in await read_all(intake.bootstrap, intake.rejected)]


async def _listed(intake: IntakeUnderTest, *args: str) -> list[dict[str, object]]:
    code, out = await _amnesty(intake, "list", "--json", *args)
    assert code == 0, out
    listed: list[dict[str, object]] = json.loads(out)
    return listed


async def _redrives(intake: IntakeUnderTest) -> int:
    return int(await intake.pool.fetchval(f'SELECT count(*) FROM "{intake.schema}".redrive_log'))


async def _reject_two(intake: IntakeUnderTest) -> tuple[dict[str, object], dict[str, object]]:
    """A valid submission, one with an impossible day and one over 64 KiB: the last two are rejected."""
    await intake.publish([encoded(submission(submission_id="fine")), IMPOSSIBLE_DAY, TOO_LARGE])
    assert len(await _settled(intake)) == 2
    (bad_day,) = await _listed(intake, "--reason", "invalid-field", "--service", "intake")
    (too_large,) = await _listed(intake, "--reason", "too-large")
    return bad_day, too_large


async def test_what_intake_rejected_is_listed_without_originals_and_shown_in_full(
    intake: IntakeUnderTest,
) -> None:
    bad_day, too_large = await _reject_two(intake)
    assert too_large["cut"] is True

    code, table = await _amnesty(intake, "list")
    assert code == 0, table
    assert "invalid-field" in table
    assert "too-large" in table
    assert RAW_PERSON not in table
    listed = await _listed(intake)
    assert {entry["id"] for entry in listed} == {bad_day["id"], too_large["id"]}
    assert all("original" not in entry for entry in listed)
    assert RAW_PERSON not in json.dumps(listed)

    code, shown = await _amnesty(intake, "show", str(bad_day["id"]))
    assert code == 0, shown
    assert '"registered_on": "2025-02-30"' in shown
    assert RAW_PERSON in shown  # show decodes the original, raw identifier and all
    code, out = await _amnesty(intake, "show", "2:999")
    assert code == 1
    assert f"no rejected message 2:999 on {intake.rejected}" in out


async def test_a_still_bad_message_is_re_driven_once_rejected_again_and_not_looped(
    intake: IntakeUnderTest,
) -> None:
    bad_day, too_large = await _reject_two(intake)
    upstream_before = await end_offsets(intake.bootstrap, intake.upstream)
    code, out = await _amnesty(intake, "redrive", "--reason", "invalid-field", "--dry-run")
    assert code == 0, out
    assert "dry run: 1 would be re-driven" in out
    assert await _redrives(intake) == 0

    code, out = await _amnesty(intake, "redrive", "--reason", "invalid-field", "--service", "intake")
    assert code == 0, out
    assert "1 re-driven" in out
    rejected = await _settled(intake)
    assert await end_offsets(intake.bootstrap, intake.upstream) == upstream_before + 1
    # Still bad: rejected again, as a new rejected message with the same bytes, at the re-driven copy.
    assert [r["original_sha256"] for r in rejected].count(bad_day["original_sha256"]) == 2
    (copy,) = [
        r for r in await read_all(intake.bootstrap, intake.upstream) if dict(r.headers).get("redrive-of")
    ]
    assert copy.value == IMPOSSIBLE_DAY
    assert dict(copy.headers)["redrive-of"].decode() == f"{intake.rejected}:{bad_day['id']}"

    code, out = await _amnesty(intake, "redrive", "--reason", "invalid-field", "--service", "intake")
    assert code == 0, out
    assert "nothing re-driven" in out
    assert "1 not re-driven: already re-driven" in out
    assert "1 not re-driven: the same bytes were re-driven already" in out
    await _settled(intake)
    assert await end_offsets(intake.bootstrap, intake.upstream) == upstream_before + 1
    assert await _redrives(intake) == 1

    states = {entry["id"]: entry["redrive"] for entry in await _listed(intake, "--reason", "invalid-field")}
    assert str(states.pop(bad_day["id"])).endswith("(sent)")
    assert list(states.values()) == [f"same bytes re-driven as {bad_day['id']}"]

    code, out = await _amnesty(intake, "redrive", str(too_large["id"]))
    assert code == 1
    assert f"{too_large['id']}: not re-driven: cut at 64 KiB" in out


async def test_a_message_rejected_before_a_fix_is_re_driven_once_and_accepted(
    intake: IntakeUnderTest,
) -> None:
    # What an earlier intake refused and this one accepts: its rejected message, as that intake wrote it.
    valid = encoded(submission("VoluntaryReturn", submission_id="before-the-fix", person_id="4012345679"))
    earlier = rejected_message(
        valid,
        Rejection(RejectionReason.INVALID_FIELD, "channel: must be one of unit, military-police"),
        topic=intake.upstream,
        partition=0,
        offset=0,
        service="intake",
        now=datetime(2026, 11, 30, 9, tzinfo=UTC),
    )
    async with kafka_test_broker(intake.bootstrap) as producer:
        await producer.publish(earlier.model_dump_json().encode(), intake.rejected, key=b"r-1")
    (listed,) = await _listed(intake, "--since", "2026-11-30", "--until", "2026-12-01")

    # Two operators at once: the redrive log lets one of them send it (the other finds it recorded, either
    # before it plans or when it records).
    results = await asyncio.gather(*(_amnesty(intake, "redrive", str(listed["id"])) for _ in range(2)))
    assert len([out for _, out in results if "1 re-driven" in out]) == 1, results
    await _settled(intake)
    cases = [json.loads(r.value) for r in await read_all(intake.bootstrap, intake.cases)]
    assert [c["submission"]["submission_id"] for c in cases] == [recorded_submission_id("before-the-fix")]

    code, out = await _amnesty(intake, "redrive", str(listed["id"]))
    assert code == 1
    assert f"{listed['id']}: not re-driven: already re-driven" in out
    assert await _redrives(intake) == 1
