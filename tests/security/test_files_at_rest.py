"""Kafka's segments, PostgreSQL's files, the logs and the secrets are readable by their owner alone, and
the servers run as users of their own, so neither reads the other's files nor runs as root."""

from __future__ import annotations

import os
import pwd

import pytest

from amnesty_runtime.stack import Stack
from tests.security.conftest import loose_paths, process_of, umask_of

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("tree", ["kafka", "pg", "secrets"])
def test_the_stacks_trees_are_owner_only(local_stack: Stack, tree: str) -> None:
    root = local_stack.settings.local / tree
    assert root.is_dir()
    assert loose_paths(root) == []


def test_kafka_segments_are_written_owner_only(local_stack: Stack) -> None:
    segments = list((local_stack.settings.local / "kafka" / "data").rglob("*.log"))
    assert segments, "the broker has written no segment yet"
    assert {oct(p.stat().st_mode & 0o777) for p in segments} == {"0o600"}
    # And what it creates from now on: the broker runs with umask 077.
    assert umask_of(process_of(local_stack, "kafka")) == 0o077


@pytest.mark.parametrize(("server", "tree"), [("kafka", "kafka"), ("postgres", "pg")])
def test_each_server_runs_as_the_owner_of_its_own_tree(local_stack: Stack, server: str, tree: str) -> None:
    process = process_of(local_stack, server)
    owner = (local_stack.settings.local / tree).stat().st_uid
    assert process.uids().effective == owner
    assert process.uids().real == owner


@pytest.mark.skipif(os.geteuid() != 0, reason="as another user the servers run as that user")
def test_as_root_kafka_and_postgres_run_as_system_users_of_their_own(local_stack: Stack) -> None:
    users = {
        server: pwd.getpwuid(process_of(local_stack, server).uids().effective).pw_name
        for server in ("kafka", "postgres")
    }
    assert users == {"kafka": "amnesty_kafka", "postgres": "embedded_postgres"}
    # Root's supplementary groups are not inherited either.
    assert set(process_of(local_stack, "kafka").gids()) == {pwd.getpwnam("amnesty_kafka").pw_gid}


async def test_stack_up_tightens_secrets_and_logs_an_earlier_version_left_readable(
    local_stack: Stack,
) -> None:
    local = local_stack.settings.local
    logs = local / "logs"
    logs.mkdir(exist_ok=True)
    old_log = logs / "security-probe.log"
    old_log.write_text("a line of an older version's log\n")
    loosened = [
        logs,
        old_log,
        local / "secrets",
        next((local / "secrets").iterdir()),
        local / "kafka" / "server.properties",
        local / "pg" / "postgres.log",
    ]
    for path in loosened:
        path.chmod(0o755 if path.is_dir() else 0o644)
    try:
        await local_stack.up()
        assert {p.name: oct(p.stat().st_mode & 0o777) for p in loosened} == {
            p.name: ("0o700" if p.is_dir() else "0o600") for p in loosened
        }
    finally:
        old_log.unlink()
