"""System users the local stack runs its servers under when it runs as root, one per server, so that
neither PostgreSQL nor Kafka runs as root and neither can read the other's files."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from amnesty_runtime.stack.errors import StackError

KAFKA_USER = "amnesty_kafka"


@dataclass(frozen=True)
class SystemUser:
    name: str
    uid: int
    gid: int

    @classmethod
    def named(cls, name: str) -> SystemUser:
        entry = pwd.getpwnam(name)
        return cls(name, entry.pw_uid, entry.pw_gid)


def server_user(name: str) -> SystemUser | None:
    """The system user ``name`` (created once, with no home, no shell and its own group) when this process
    runs as root; None otherwise, when the servers run as the invoking user."""
    if os.geteuid() != 0:
        return None
    try:
        return SystemUser.named(name)
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"Could not create the system user {name}: {result.stderr.strip()}")
    return SystemUser.named(name)


def open_path_to(path: Path) -> None:
    """Let every user pass through (execute, not list) each directory above ``path``, so that a server's
    own user reaches its tree wherever the project lives, e.g. under a root-only temporary directory."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
