"""Owner-only trees: what the local stack keeps on disk (broker segments, database files, logs, secrets)
is readable by its owner alone, since the segments and logs hold raw identifiers.

New files are made owner-only by the umask their process starts with; ``tighten`` fixes trees that an
earlier version of the stack left group- or world-readable, at every `stack up`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from amnesty_runtime.stack.system_users import SystemUser

OWNER_ONLY_UMASK = 0o077
"""The umask of every process the stack starts: the files it creates are 0600, its directories 0700."""


def tighten(root: Path, owner: SystemUser | None = None) -> None:
    """Make ``root`` and everything under it owner-only (directories 0700, files 0600, executables
    0700), and owned by ``owner`` when given. Missing paths are left alone; symlinks are not followed."""
    if not root.exists():
        return
    _tighten_one(root, owner)
    for directory, subdirectories, files in os.walk(root):
        for name in (*subdirectories, *files):
            _tighten_one(Path(directory) / name, owner)


def _tighten_one(path: Path, owner: SystemUser | None) -> None:
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return
    if owner is not None:
        os.chown(path, owner.uid, owner.gid)
    wanted = 0o700 if stat.S_ISDIR(mode) or mode & stat.S_IXUSR else 0o600
    if stat.S_IMODE(mode) != wanted:
        path.chmod(wanted)


def open_owner_only(path: Path, owner: SystemUser | None = None) -> int:
    """A descriptor appending to ``path``, created 0600 (and made so if it already existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)
    if owner is not None:
        os.fchown(fd, owner.uid, owner.gid)
    return fd
