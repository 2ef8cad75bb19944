"""Creating the contract's topics: idempotent, with their partitions and retention (kept as configured)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from amnesty_contracts.topics import TOPICS
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.stack.errors import StackError

UNLIMITED = "-1"
DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


KAFKA_PORT = 9092
"""Kafka's port where a bootstrap server names none."""


def bootstrap_addresses(bootstrap_servers: str) -> list[tuple[str, int]]:
    """Each ``host[:port]`` of a bootstrap list, an IPv6 address in brackets (``[::1]:9092``) too."""
    addresses = []
    for server in filter(None, (s.strip() for s in bootstrap_servers.split(","))):
        host, colon, port = server.rpartition(":")
        if not colon or not port.isdigit() or (host.startswith("[") != host.endswith("]")):
            host, port = server, str(KAFKA_PORT)  # no port (a bare IPv6 address in brackets too)
        addresses.append((host.removeprefix("[").removesuffix("]"), int(port)))
    return addresses


async def _accepting(bootstrap_servers: str) -> bool:
    """Whether any bootstrap server accepts a TCP connection: the first alone could be the one away."""
    for host, port in bootstrap_addresses(bootstrap_servers):
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
        except (OSError, TimeoutError):
            continue
        writer.close()
        await writer.wait_closed()
        return True
    return False


async def wait_for_kafka(
    client: KafkaClientOptions, timeout_s: float, alive: Callable[[], bool] | None = None
) -> None:
    """Return when the cluster answers a metadata request; poll, never a fixed sleep."""
    bootstrap_servers = client.bootstrap_servers
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise StackError("The Kafka broker exited while starting.")
        # A plain TCP probe first: the Kafka client logs every refused connection as an error.
        if not await _accepting(bootstrap_servers):
            await asyncio.sleep(0.1)
            continue
        admin = AIOKafkaAdminClient(**client.aiokafka(), request_timeout_ms=5000)
        try:
            await asyncio.wait_for(admin.start(), 10)
            await asyncio.wait_for(admin.describe_cluster(), 10)
            return
        except (KafkaError, OSError, TimeoutError) as exc:
            last = exc
        finally:
            await admin.close()
        await asyncio.sleep(0.2)
    raise StackError(f"Kafka at {bootstrap_servers} was not ready within {timeout_s:.0f}s: {last!r}")


async def ensure_topics(
    client: KafkaClientOptions, specs: list[TopicSpec], timeout_s: float = 60.0
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created. Topics that exist get their
    spec's configuration again, so a changed retention setting takes effect at the next start."""
    admin = AIOKafkaAdminClient(**client.aiokafka(), request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        await _check_partitions(admin, [s for s in specs if s.name in existing])
        await _configure(admin, [s for s in specs if s.name in existing])
        missing = [s for s in specs if s.name not in existing]
        if not missing:
            return []
        deadline = time.monotonic() + timeout_s
        created: list[str] = []
        existed: list[TopicSpec] = []  # created meanwhile by another process: taken as existing ones
        while True:
            try:
                response = await admin.create_topics(
                    [NewTopic(s.name, s.partitions, 1, topic_configs=s.config) for s in missing]
                )
            except KafkaError:
                # The controller can refuse requests for a moment after the broker first answers.
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
                continue
            refused = _refusals(response.topic_errors)
            there = {name for name, error in refused.items() if error.code == TopicAlreadyExistsError.errno}
            existed += [s for s in missing if s.name in there]
            created += [s.name for s in missing if s.name not in refused]
            retry = [s for s in missing if s.name in refused and refused[s.name].retriable]
            final = {n: e for n, e in refused.items() if not e.retriable and n not in there}
            if final:
                raise StackError(
                    "Kafka refused to create "
                    + "; ".join(f"{name}: {error.description}" for name, error in sorted(final.items()))
                )
            if not retry:
                await _check_partitions(admin, existed)
                await _configure(admin, existed)
                return created
            if time.monotonic() > deadline:
                raise StackError(
                    f"Kafka did not create {', '.join(s.name for s in retry)} within {timeout_s:.0f}s: "
                    + "; ".join(refused[s.name].description for s in retry)
                )
            missing = retry
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


@dataclass(frozen=True)
class _Refusal:
    code: int
    retriable: bool
    description: str


def _refusals(topic_errors: list[tuple[Any, ...]]) -> dict[str, _Refusal]:
    """The topics CreateTopics did not create, from its per-topic errors (aiokafka raises none of
    them: its answer must be read). One that exists already was created meanwhile by another process."""
    refused: dict[str, _Refusal] = {}
    for name, code, *rest in topic_errors:
        if code == 0:
            continue
        error = for_code(code)
        message = rest[0] if rest and rest[0] else error.description
        refused[name] = _Refusal(code, error.retriable, f"{message} ({error.__name__}, {code})")
    return refused


async def _check_partitions(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> None:
    """Refuse topics that exist with another number of partitions than their spec's. A key's partition
    depends on the count, so each person's events are in order only within one count: adding
    partitions to a topic that holds events would split a person's history, and a topic created
    elsewhere with fewer would be taken as it is without a word."""
    if not specs:
        return
    described = await _partition_counts(admin, [s.name for s in specs])
    wrong = [(s, described[s.name]) for s in specs if described[s.name] != s.partitions]
    if wrong:
        raise StackError(
            "Topics exist with another number of partitions than configured (AMNESTY_TOPIC_PARTITIONS): "
            + "; ".join(f"{s.name} has {has}, configured {s.partitions}" for s, has in wrong)
            + ". Set AMNESTY_TOPIC_PARTITIONS to what they have, or recreate them (and lose their events)."
        )


async def _partition_counts(
    admin: AIOKafkaAdminClient, names: list[str], timeout_s: float = 10.0
) -> dict[str, int]:
    """How many partitions each topic has; a topic whose metadata is not there yet (just created
    elsewhere, a broker restarting) is asked again until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = {t["topic"]: t for t in await admin.describe_topics(names)}
        failed = {
            n: for_code(answer[n]["error_code"]) for n in names if n in answer and answer[n]["error_code"]
        }
        unknown = [n for n in names if n not in answer or (n in failed and failed[n].retriable)]
        if not unknown and not failed:
            return {n: len(answer[n]["partitions"]) for n in names}
        final = {n: e for n, e in failed.items() if not e.retriable}
        if final or time.monotonic() > deadline:
            problems = {**dict.fromkeys(unknown, "no metadata"), **{n: e.__name__ for n, e in failed.items()}}
            raise StackError(
                "Could not read the partitions of "
                + "; ".join(f"{name} ({problem})" for name, problem in sorted(problems.items()))
            )
        await asyncio.sleep(0.5)


async def _configure(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> None:
    """Give existing topics their spec's settings, keeping any other setting made on them."""
    specs = [s for s in specs if s.config]
    if not specs:
        return
    current = await _own_configs(admin, [s.name for s in specs])
    changed = [s for s in specs if any(current[s.name].get(k) != v for k, v in s.config.items())]
    if not changed:
        return
    # AlterConfigs replaces a topic's whole configuration (aiokafka has no incremental form): send it all.
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, s.name, current[s.name] | s.config) for s in changed
    ]
    for response in await admin.alter_configs(resources):
        for error_code, message, _type, name in response.resources:
            if error_code:
                raise StackError(f"Could not configure topic {name}: {message or 'error'} ({error_code}).")


_DYNAMIC_TOPIC_CONFIG = 1
"""DescribeConfigs' source of a value set on the topic itself (not inherited from the broker)."""


async def _own_configs(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    """The settings made on each topic itself."""
    own: dict[str, dict[str, str]] = {name: {} for name in names}
    for response in await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
    ):
        for error_code, message, _type, name, entries in response.resources:
            if error_code:
                raise StackError(
                    f"Could not read the configuration of topic {name}: {message} ({error_code})."
                )
            for key, value, _read_only, source, *_ in entries:
                # Version 0 of the answer has no source, only "is default": then nothing is kept.
                if response.API_VERSION >= 1 and source == _DYNAMIC_TOPIC_CONFIG:
                    own[name][key] = value
    return own


def contract_topics(partitions: int, retention_days: Mapping[str, float]) -> list[TopicSpec]:
    """The topics of docs/contract.md: the domain topics kept forever, the others (which hold raw
    identifiers) for ``retention_days[name]`` (see amnesty_contracts.topics for why)."""
    return [
        TopicSpec(
            t.name,
            partitions,
            # Deleted by age only, never compacted: compaction keeps the last event of each key (a
            # person), and a new projection could no longer be built from the beginning.
            {"cleanup.policy": "delete", "retention.ms": UNLIMITED, "retention.bytes": UNLIMITED}
            if t.unlimited_retention
            else {
                "cleanup.policy": "delete",
                "retention.ms": str(round(retention_days[t.name] * DAY_MS)),
                "retention.bytes": UNLIMITED,
            },
        )
        for t in TOPICS.values()
    ]
