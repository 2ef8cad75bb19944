"""A service's start that fails part way stops what it had started: no consumer left in its group, no
producer left connected, the pool closed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from amnesty_runtime import lifecycle
from amnesty_runtime.stack import Endpoints


class _StartError(Exception):
    """A start that did not go through."""


class _Part:
    """A broker, producer or pool that records what was done to it; its start may fail."""

    def __init__(
        self, log: list[str], name: str, *, start_fails: bool = False, stop_hangs: bool = False
    ) -> None:
        self._log, self._name, self._start_fails, self._stop_hangs = log, name, start_fails, stop_hangs

    async def start(self) -> None:
        self._log.append(f"{self._name} started")
        if self._start_fails:
            raise _StartError(self._name)

    async def stop(self) -> None:
        if self._stop_hangs:  # an idempotent producer flushing to a broker that is away
            self._log.append(f"{self._name} stopping")
            await asyncio.Event().wait()
        self._log.append(f"{self._name} stopped")

    async def close(self) -> None:
        self._log.append(f"{self._name} closed")


class _Endpoints:
    def database_url(self, _service: str) -> str:
        return "postgresql://unused"

    def kafka_client_options(self, _service: str) -> Any:
        return self

    def aiokafka(self) -> dict[str, Any]:
        return {}


async def _forever(*_args: object) -> None:
    await asyncio.Event().wait()


class _Relay:
    def __init__(self, _pool: object, _schema: object, producer: object, **_kwargs: object) -> None:
        self.producer = producer

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    log: list[str] = []

    async def create_pool(*_args: object, **_kwargs: object) -> _Part:
        return _Part(log, "pool")

    async def migrate(*_args: object) -> None:
        return None

    monkeypatch.setattr(lifecycle, "create_pool", create_pool)
    monkeypatch.setattr(lifecycle, "migrate", migrate)
    monkeypatch.setattr(lifecycle, "watch_oldest_transaction", _forever)
    monkeypatch.setattr(lifecycle, "watch_consumer_lag", _forever)
    monkeypatch.setattr(lifecycle, "OutboxRelay", _Relay)
    monkeypatch.setattr(lifecycle, "settle_heap", lambda: None)
    return log


async def _start(**kwargs: Any) -> None:
    endpoints: Endpoints = _Endpoints()  # type: ignore[assignment]  # only the URLs are asked for
    async with lifecycle.running("intake", endpoints, **kwargs):
        pytest.fail("the service must not run when its start failed")


async def test_a_broker_whose_start_fails_is_stopped(log: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "kafka_broker", lambda *_a: _Part(log, "broker", start_fails=True))
    monkeypatch.setattr(lifecycle, "create_producer", lambda *_a: _Part(log, "producer"))

    with pytest.raises(_StartError):
        await _start(signer=object())

    assert log == [
        "producer started",
        "broker started",
        "broker stopped",  # the subscribers it had started leave their groups
        "producer stopped",
        "pool closed",
    ]


async def test_a_producer_whose_start_fails_is_stopped(
    log: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "kafka_broker", lambda *_a: _Part(log, "broker"))
    monkeypatch.setattr(lifecycle, "create_producer", lambda *_a: _Part(log, "producer", start_fails=True))

    with pytest.raises(_StartError):
        await _start(signer=object())

    assert log == ["producer started", "producer stopped", "pool closed"]


async def test_a_producer_that_cannot_flush_does_not_hold_the_stop(
    log: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "kafka_broker", lambda *_a: _Part(log, "broker"))
    monkeypatch.setattr(lifecycle, "create_producer", lambda *_a: _Part(log, "producer", stop_hangs=True))
    monkeypatch.setattr(lifecycle, "PRODUCER_STOP_S", 0.1)
    endpoints: Endpoints = _Endpoints()  # type: ignore[assignment]  # only the URLs are asked for

    async with lifecycle.running("intake", endpoints, signer=object()):  # type: ignore[arg-type]
        pass

    assert log[-2:] == ["producer stopping", "pool closed"]
