"""Group commit without a database: what is queued while a commit is in flight goes in the next group,
each caller gets the outcomes of its own items, and a group that fails as a whole is retried one caller
at a time, each in a transaction of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator, Sequence
from contextlib import asynccontextmanager
from typing import cast

import pytest

from amnesty_eventstore import DbConnection, GroupCommit, Pool
from amnesty_eventstore.group_commit import GroupCommitClosedError


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
    """Hands out connections as asyncpg's pool does: ``async with acquire()``, or ``await acquire()`` and
    ``release()``; counts those out."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.out = 0
        self.acquired = 0

    def acquire(self) -> _Acquiring:
        return _Acquiring(self)

    async def release(self, conn: FakeConnection) -> None:
        self.out -= 1


class _Acquiring:
    def __init__(self, pool: FakePool) -> None:
        self._pool = pool

    def __await__(self) -> Generator[None, None, FakeConnection]:
        return self._acquire().__await__()

    async def _acquire(self) -> FakeConnection:
        self._pool.out += 1
        self._pool.acquired += 1
        return FakeConnection(self._pool.log)

    async def __aenter__(self) -> FakeConnection:
        return await self

    async def __aexit__(self, *_: object) -> None:
        self._pool.out -= 1


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
    with pytest.raises(GroupCommitClosedError, match="not running"):
        await group.submit(["late"])


async def test_work_submitted_while_closing_is_refused_not_left_waiting(
    pool: FakePool, work: FakeWork
) -> None:
    """Queued after close() had joined the queue, nobody ran it: an HTTP request in flight at shutdown
    waited for an answer for good."""
    group = group_commit(pool, work)
    group.start()
    await asyncio.sleep(0)

    async def late() -> list[str | Exception]:
        await asyncio.sleep(0)
        return await group.submit(["a"])

    submitting = asyncio.create_task(late())
    await group.close()
    with pytest.raises(GroupCommitClosedError):
        await asyncio.wait_for(submitting, 1)


async def test_work_answering_the_wrong_number_of_outcomes_fails_its_callers(pool: FakePool) -> None:
    async def short(conn: DbConnection, items: Sequence[str]) -> Sequence[str | Exception]:
        return list(items)[:-1]

    async with GroupCommit(cast(Pool, pool), short, name="test") as group:
        with pytest.raises(RuntimeError, match="outcomes"):
            await group.submit(["a", "b"])


# --- groups in flight ---------------------------------------------------------------------------------


async def test_with_two_writers_the_next_group_goes_while_the_first_is_in_flight(
    pool: FakePool, work: FakeWork
) -> None:
    async with group_commit(pool, work, writers=2) as group:
        first = await _first_group_in_flight(group, work)
        second = asyncio.ensure_future(group.submit(["b"]))
        await _turns(10)
        assert work.groups == [["a"], ["b"]]  # both sent, neither committed
        third = asyncio.ensure_future(group.submit(["c"]))
        await _turns(10)
        assert work.groups == [["a"], ["b"]]  # no third writer: c waits for one of them
        work.gate.set()
        assert list(await asyncio.gather(first, second, third)) == [["A"], ["B"], ["C"]]
    assert work.groups == [["a"], ["b"], ["c"]]


async def test_one_writer_sends_the_next_group_only_after_the_first_committed(
    pool: FakePool, work: FakeWork
) -> None:
    async with group_commit(pool, work) as group:
        first = await _first_group_in_flight(group, work)
        second = asyncio.ensure_future(group.submit(["b"]))
        await _turns(10)
        assert work.groups == [["a"]]
        work.gate.set()
        await asyncio.gather(first, second)
    assert work.groups == [["a"], ["b"]]


async def test_heavy_work_is_split_between_free_writers_and_light_work_is_not(
    pool: FakePool, work: FakeWork
) -> None:
    async with group_commit(pool, work, writers=2, split_above=500, weight=_heavy) as group:
        heavy = await asyncio.gather(*(group.submit([f"heavy-{i}"]) for i in range(4)))
        light = await asyncio.gather(*(group.submit([f"light-{i}"]) for i in range(16)))
    assert heavy == [[f"HEAVY-{i}"] for i in range(4)]
    assert light == [[f"LIGHT-{i}"] for i in range(16)]
    # 4 x 1000 split in two halves sent side by side; 16 x 1 is one group, as with one writer.
    assert work.groups == [["heavy-0", "heavy-1"], ["heavy-2", "heavy-3"], [f"light-{i}" for i in range(16)]]


async def test_a_group_failing_beside_another_in_flight_fails_only_its_faulty_caller(
    pool: FakePool, work: FakeWork
) -> None:
    async with group_commit(pool, work, writers=2, split_above=1) as group:
        work.gate.clear()
        submitted = asyncio.gather(
            group.submit(["a"]), group.submit(["broken"]), group.submit(["c"]), group.submit(["d"]),
            return_exceptions=True,
        )  # fmt: skip
        await _turns(10)
        work.gate.set()
        outcomes = await submitted
    assert outcomes[0] == ["A"]
    assert isinstance(outcomes[1], RuntimeError)
    assert list(outcomes[2:]) == [["C"], ["D"]]
    # Split in two groups in flight; only the broken one's callers were retried one by one.
    assert work.groups[:2] == [["a", "broken"], ["c", "d"]]
    assert sorted(map(tuple, work.groups[2:])) == [("a",), ("broken",)]


async def test_a_callers_own_work_commits_in_the_order_it_was_submitted(
    pool: FakePool, work: FakeWork
) -> None:
    async with group_commit(pool, work, writers=2, split_above=1) as group:

        async def caller(name: str) -> list[str | Exception]:
            return [outcome for n in range(5) for outcome in await group.submit([f"{name}{n}"])]

        outcomes = list(await asyncio.gather(caller("x"), caller("y"), caller("z")))
    assert outcomes == [[f"{name.upper()}{n}" for n in range(5)] for name in "xyz"]
    committed = [item for g in work.groups for item in g]
    for name in "xyz":
        assert [i for i in committed if i.startswith(name)] == [f"{name}{n}" for n in range(5)]


async def test_a_writer_keeps_its_connection_while_work_waits_and_hands_it_back_when_idle(
    pool: FakePool, work: FakeWork
) -> None:
    async with group_commit(pool, work) as group:
        first = await _first_group_in_flight(group, work)
        rest = [asyncio.ensure_future(group.submit([f"b{i}"])) for i in range(3)]
        await _turns(1)
        work.gate.set()
        await asyncio.gather(first, *rest)
        await _turns(10)
        assert pool.acquired == 1  # the second group went on the first one's connection
        assert pool.out == 0  # idle: handed back
        assert await group.submit(["c"]) == ["C"]
        await _turns(10)
        assert (pool.acquired, pool.out) == (2, 0)
    assert work.groups == [["a"], ["b0", "b1", "b2"], ["c"]]


async def _first_group_in_flight(
    group: GroupCommit[str, str], work: FakeWork
) -> asyncio.Future[list[str | Exception]]:
    """Submit ["a"] with the work held at its gate: its group is sent and not committed."""
    work.gate.clear()
    first = asyncio.ensure_future(group.submit(["a"]))
    await _turns(10)
    return first


def _heavy(item: str) -> int:
    return 1000 if item.startswith("heavy") else 1


async def _turns(n: int) -> None:
    """Let the dispatcher and writers run ``n`` turns of the loop (a group takes a few to go out)."""
    for _ in range(n):
        await asyncio.sleep(0)


async def test_two_writers_hand_back_a_connection_one_group_left_idle(pool: FakePool, work: FakeWork) -> None:
    """Both writers finished while work was queued, so each kept its connection, and one group took
    all the work: the other connection stayed out of the pool, idle, until the next group."""
    async with group_commit(pool, work, writers=2) as group:
        work.gate.clear()
        first = asyncio.ensure_future(group.submit(["a"]))
        await _turns(10)
        second = asyncio.ensure_future(group.submit(["b"]))
        await _turns(10)
        rest = asyncio.gather(*(group.submit([x]) for x in "cdef"))
        await _turns(10)
        work.gate.set()
        await asyncio.gather(first, second, rest)
        await _turns(50)
        assert work.groups == [["a"], ["b"], ["c", "d", "e", "f"]]
        assert pool.out == 0


async def test_a_group_whose_callers_all_gave_up_hands_back_the_connection_kept_for_it(
    pool: FakePool, work: FakeWork
) -> None:
    """The writer kept its connection for the work queued behind its group; that work's callers then
    gave up, so the next group took no connection, and the kept one stayed out of the pool."""
    async with group_commit(pool, work) as group:
        first = await _first_group_in_flight(group, work)
        gave_up = [asyncio.ensure_future(group.submit([x])) for x in "bc"]
        await _turns(5)
        for caller in gave_up:
            caller.cancel()
        await _turns(5)
        work.gate.set()
        await first
        await _turns(20)
        assert work.groups == [["a"]]
        assert pool.out == 0
