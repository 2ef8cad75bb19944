"""Group commit without a database: what is queued while a commit is in flight goes in the next group,
each caller gets its own outcome, and a group that fails as a whole is retried one append at a time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest

from amnesty_eventstore import AppendRequest, AppendResult, ConcurrencyError, NewEvent, Pool
from amnesty_eventstore import group_commit as group_commit_module
from amnesty_eventstore.appending import AppendOutcome
from amnesty_eventstore.group_commit import GroupCommitter


class FakePool:
    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[object]:
        yield object()


class FakeDatabase:
    """Stands in for append_many_in / append_in / append_copy_in: records calls, answers per stream name."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.singles: list[str] = []
        self.copied: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_groups = False

    @staticmethod
    def outcome(request: AppendRequest) -> AppendOutcome:
        if request.stream_id.startswith("stale"):
            return ConcurrencyError(request.stream_id, request.expected_version, 5)
        return AppendResult(request.stream_id, 1, len(request.events))

    async def append_many_in(
        self, conn: object, schema: str, requests: Sequence[AppendRequest]
    ) -> list[AppendOutcome]:
        self.groups.append([r.stream_id for r in requests])
        await self.gate.wait()
        if self.fail_groups and len(requests) > 1:
            raise RuntimeError("unique violation")
        return [self.outcome(r) for r in requests]

    async def append_in(
        self, conn: object, schema: str, stream_id: str, events: Any, expected: Any
    ) -> AppendResult:
        self.singles.append(stream_id)
        if stream_id == "broken":
            raise RuntimeError("this one is faulty")
        outcome = self.outcome(AppendRequest(stream_id, events, expected))
        if isinstance(outcome, AppendResult):
            return outcome
        raise outcome

    async def append_copy_in(
        self, conn: object, schema: str, stream_id: str, events: Any, expected: Any
    ) -> AppendResult:
        self.copied.append(stream_id)
        return AppendResult(stream_id, 1, len(events))


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> FakeDatabase:
    fake = FakeDatabase()
    monkeypatch.setattr(group_commit_module, "append_many_in", fake.append_many_in)
    monkeypatch.setattr(group_commit_module, "append_in", fake.append_in)
    monkeypatch.setattr(group_commit_module, "append_copy_in", fake.append_copy_in)
    return fake


def request(stream: str) -> AppendRequest:
    return AppendRequest(stream, [NewEvent(uuid.uuid4(), "Probe", {})])


def committer(writers: int = 1) -> GroupCommitter:
    return GroupCommitter(cast(Pool, FakePool()), "test", writers=writers)


async def test_appends_queued_during_a_commit_go_together_in_the_next_group(database: FakeDatabase) -> None:
    group_commit = committer()
    group_commit.start()
    database.gate.clear()
    first = asyncio.ensure_future(group_commit.append(request("s0")))
    await asyncio.sleep(0)  # the writer takes s0 alone and waits on the gate
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(group_commit.append(request(f"s{i}"))) for i in range(1, 6)]
    await asyncio.sleep(0)
    database.gate.set()
    await asyncio.gather(first, *rest)
    await group_commit.close()
    assert database.groups == [["s0"], ["s1", "s2", "s3", "s4", "s5"]]


async def test_an_idle_committer_sends_a_lone_append_at_once(database: FakeDatabase) -> None:
    group_commit = committer()
    group_commit.start()
    for i in range(3):
        await asyncio.wait_for(group_commit.append(request(f"s{i}")), timeout=0.5)
    await group_commit.close()
    assert database.groups == [["s0"], ["s1"], ["s2"]]


async def test_each_caller_gets_its_own_outcome(database: FakeDatabase) -> None:
    group_commit = committer()
    group_commit.start()
    outcomes = await asyncio.gather(
        group_commit.append(request("ok-1")),
        group_commit.append(request("stale-1")),
        group_commit.append(request("ok-2")),
        return_exceptions=True,
    )
    await group_commit.close()
    assert outcomes[0] == AppendResult("ok-1", 1, 1)
    assert isinstance(outcomes[1], ConcurrencyError)
    assert outcomes[2] == AppendResult("ok-2", 1, 1)


async def test_a_group_failing_as_a_whole_is_retried_one_by_one(database: FakeDatabase) -> None:
    database.fail_groups = True
    group_commit = committer()
    group_commit.start()
    outcomes = await asyncio.gather(
        *(group_commit.append(request(s)) for s in ("a", "broken", "stale-b", "c")), return_exceptions=True
    )
    await group_commit.close()
    assert database.singles == ["a", "broken", "stale-b", "c"]
    assert outcomes[0] == AppendResult("a", 1, 1)
    assert isinstance(outcomes[1], RuntimeError)
    assert isinstance(outcomes[2], ConcurrencyError)
    assert outcomes[3] == AppendResult("c", 1, 1)


async def test_closing_commits_what_is_queued(database: FakeDatabase) -> None:
    group_commit = committer(writers=2)
    group_commit.start()
    pending = [asyncio.ensure_future(group_commit.append(request(f"s{i}"))) for i in range(10)]
    await asyncio.sleep(0)
    await group_commit.close()
    assert all(p.done() and p.result().stream_id == f"s{i}" for i, p in enumerate(pending))
    with pytest.raises(RuntimeError, match="not started"):
        await group_commit.append(request("late"))


async def test_a_large_append_skips_the_queue_and_goes_by_copy(database: FakeDatabase) -> None:
    group_commit = GroupCommitter(cast(Pool, FakePool()), "test", direct_events=3)
    group_commit.start()
    large = AppendRequest("large", [NewEvent(uuid.uuid4(), "Probe", {}) for _ in range(3)])
    assert await group_commit.append(large) == AppendResult("large", 1, 3)
    await group_commit.close()
    assert (database.groups, database.singles, database.copied) == ([], [], ["large"])
