"""A small disk of a test's own: a tmpfs of a fixed size mounted over a folder, which the test fills to
the last byte and empties again (a disk-full fault for the server whose data lives there).

Mounting needs root with CAP_SYS_ADMIN. Where that is not given (a CI runner as an ordinary user, a
container without the capability) nothing is mounted and ``refused`` says why, so the tests that need
the disk skip with that reason instead of faking the fault.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1024 * 1024


@dataclass
class SmallDisk:
    path: Path
    size_bytes: int

    @property
    def _filler(self) -> Path:
        return self.path / "disk-full-filler"

    def free_bytes(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def fill(self) -> int:
        """Take every free byte (as root: tmpfs keeps no reserve for root either); the bytes taken."""
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        taken = 0
        try:
            with contextlib.suppress(OSError):
                free = self.free_bytes()
                os.posix_fallocate(fd, 0, free)
                taken = free
            # What the server took meanwhile, or the rounding of the allocation: written until refused.
            for chunk in (_CHUNK, 4096, 512):
                while True:
                    try:
                        taken += os.write(fd, b"\0" * chunk)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(fd)
        return taken

    def empty(self) -> None:
        """Give the space back."""
        self._filler.unlink(missing_ok=True)


def _refusal() -> str | None:
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    if shutil.which("mount") is None or shutil.which("umount") is None:
        return "mount/umount are not installed"
    return None


@contextmanager
def small_disk(path: Path, size_bytes: int) -> Iterator[SmallDisk | str]:
    """A ``size_bytes`` tmpfs over the empty folder ``path`` (created), unmounted afterwards; or, where it
    cannot be mounted, the reason why."""
    path.mkdir(parents=True, exist_ok=True)
    reason = _refusal()
    if reason is None:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0700", "tmpfs", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if mounted.returncode != 0:
            reason = f"mount -t tmpfs was refused: {mounted.stderr.strip() or mounted.returncode}"
    if reason is not None:
        yield reason
        return
    try:
        yield SmallDisk(path, size_bytes)
    finally:
        # Lazily: a server killed a moment ago may still hold a file open there.
        subprocess.run(["umount", "--lazy", str(path)], capture_output=True, check=False)
