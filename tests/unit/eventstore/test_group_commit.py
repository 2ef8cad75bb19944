"""Group commit without a database: what is queued while a commit is in flight goes in the next group,
each caller gets the outcomes of its own items, and a group that fails as a whole is retried one caller
at a time, each in a transaction of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import cast

import pytest

from amnesty_eventstore import DbConnection, GroupCommit, Pool


class FakeConnection:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        self.log.append("begin")
        try:
            yield
        except BaseException:
            self.log.append("rollback")
            raise
        self.log.append("commit")


class FakePool:
    def __init__(self) -> None:
        self.log: list[str] = []

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        yield FakeConnection(self.log)


class FakeWork:
    """Stands in for a transaction's work: records each group, answers per item ("bad…" is the item's
    own failure, returned as its outcome; "broken" fails whatever transaction it is in)."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, conn: DbConnection, items: Sequence[str]) -> list[str | Exception]:
        self.groups.append(list(items))
        await self.gate.wait()
        if "broken" in items:
            raise RuntimeError("this group's statement failed")
        return [ValueError(item) if item.startswith("bad") else item.upper() for item in items]


@pytest.fixture
def pool() -> FakePool:
    return FakePool()


@pytest.fixture
def work() -> FakeWork:
    return FakeWork()


def group_commit(pool: FakePool, work: FakeWork, **options: object) -> GroupCommit[str, str]:
    return GroupCommit(cast(Pool, pool), work, name="test", **options)  # type: ignore[arg-type]


async def test_work_queued_during_a_commit_goes_together_in_the_next_group(
    pool: FakePool, work: FakeWork
) -> None:
    async with group_commit(pool, work) as group:
        work.gate.clear()
        first = asyncio.ensure_future(group.submit(["a"]))
        await asyncio.sleep(0)  # the writer takes a alone and waits on the gate
        await asyncio.sleep(0)
        rest = [asyncio.ensure_future(group.submit([f"b{i}", f"c{i}"])) for i in range(3)]
        await asyncio.sleep(0)
        work.gate.set()
        outcomes = await asyncio.gather(first, *rest)
    assert work.groups == [["a"], ["b0", "c0", "b1", "c1", "b2", "c2"]]
    assert outcomes == [["A"], ["B0", "C0"], ["B1", "C1"], ["B2", "C2"]]
    assert pool.log == ["begin", "commit"] * 2


async def test_an_idle_committer_sends_a_lone_caller_at_once(pool: FakePool, work: FakeWork) -> None:
    async with group_commit(pool, work) as group:
        for i in range(3):
            assert await asyncio.wait_for(group.submit([f"s{i}"]), timeout=0.5) == [f"S{i}"]
    assert work.groups == [["s0"], ["s1"], ["s2"]]


async def test_each_caller_gets_its_own_items_outcomes(pool: FakePool, work: FakeWork) -> None:
    async with group_commit(pool, work) as group:
        outcomes = await asyncio.gather(group.submit(["ok-1", "bad-1"]), group.submit(["ok-2"]))
    assert outcomes[0][0] == "OK-1"
    assert isinstance(outcomes[0][1], ValueError)
    assert outcomes[1] == ["OK-2"]
    assert len(work.groups) == 1


async def test_a_group_failing_as_a_whole_is_retried_one_caller_at_a_time(
    pool: FakePool, work: FakeWork
) -> None:
    async with group_commit(pool, work) as group:
        outcomes = await asyncio.gather(
            group.submit(["a"]), group.submit(["broken"]), group.submit(["c", "d"]), return_exceptions=True
        )
    assert work.groups == [["a", "broken", "c", "d"], ["a"], ["broken"], ["c", "d"]]
    assert outcomes[0] == ["A"]
    assert isinstance(outcomes[1], RuntimeError)
    assert outcomes[2] == ["C", "D"]
    assert pool.log == ["begin", "rollback", "begin", "commit", "begin", "rollback", "begin", "commit"]


async def test_a_group_is_bounded_by_its_item_count(pool: FakePool, work: FakeWork) -> None:
    async with group_commit(pool, work, max_group_items=4) as group:
        work.gate.clear()
        first = asyncio.ensure_future(group.submit(["x"]))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        rest = [asyncio.ensure_future(group.submit([f"a{i}", f"b{i}"])) for i in range(3)]
        await asyncio.sleep(0)
        work.gate.set()
        await asyncio.gather(first, *rest)
    assert [len(g) for g in work.groups] == [1, 4, 2]


async def test_work_of_one_statement_runs_without_begin_and_commit(pool: FakePool, work: FakeWork) -> None:
    async with group_commit(pool, work, transactional=False) as group:
        assert await group.submit(["a"]) == ["A"]
    assert pool.log == []


async def test_closing_commits_what_is_queued(pool: FakePool, work: FakeWork) -> None:
    group = group_commit(pool, work)
    group.start()
    pending = [asyncio.ensure_future(group.submit([f"s{i}"])) for i in range(10)]
    await asyncio.sleep(0)
    await group.close()
    assert [p.result() for p in pending] == [[f"S{i}"] for i in range(10)]
    with pytest.raises(RuntimeError, match="not started"):
        await group.submit(["late"])


async def test_work_answering_the_wrong_number_of_outcomes_fails_its_callers(pool: FakePool) -> None:
    async def short(conn: DbConnection, items: Sequence[str]) -> Sequence[str | Exception]:
        return list(items)[:-1]

    async with GroupCommit(cast(Pool, pool), short, name="test") as group:
        with pytest.raises(RuntimeError, match="outcomes"):
            await group.submit(["a", "b"])
