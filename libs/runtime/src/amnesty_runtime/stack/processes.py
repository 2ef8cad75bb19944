"""The processes the stack started, remembered by pid and start time so `down` ends exactly those.

The start time that identifies a process is, on Linux, its start in clock ticks after boot, read from
``/proc/<pid>/stat``. psutil's ``create_time()`` is that plus the boot time in wall-clock seconds, which
moves whenever the clock is stepped (a virtual machine resumed, NTP): after a step of more than a
second a running broker looked gone, so `down` left it running and `status` called it stopped. The
wall-clock time is kept beside it, for records written before and for systems without ``/proc``.
"""

from __future__ import annotations

import json
import os
import signal
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class ProcessRecord:
    """A process started by the stack. The start time guards against a recycled pid."""

    name: str
    pid: int
    started: float  # wall-clock seconds (psutil's create_time)
    address: str = ""
    ticks: int | None = None  # clock ticks after boot, where /proc has them

    @classmethod
    def of(cls, name: str, pid: int, address: str = "") -> ProcessRecord:
        started = psutil.Process(pid).create_time()
        return cls(name=name, pid=pid, started=started, address=address, ticks=start_ticks(pid))

    def process(self) -> psutil.Process | None:
        """The live process, or None when it has exited or the pid now belongs to another process."""
        try:
            proc = psutil.Process(self.pid)
            ticks = start_ticks(self.pid) if self.ticks is not None else None
            ours = ticks == self.ticks if ticks is not None else abs(proc.create_time() - self.started) <= 1.0
            if not ours or proc.status() == psutil.STATUS_ZOMBIE:
                return None
        except psutil.NoSuchProcess:
            return None
        return proc

    def alive(self) -> bool:
        return self.process() is not None

    def stop(
        self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 60.0, *, group: bool = False
    ) -> None:
        """Signal the process and wait for it to exit; kill it if it outlives the timeout.

        ``group``: the process leads a session of its own (``start_new_session``), and its whole group
        is signalled and waited for. The demo's simulator runs under ``/bin/sh -c``, and dash passes no
        SIGTERM on: signalled alone, the shell went and the simulator went on publishing, untracked.
        """
        proc = self.process()
        if proc is None:
            return
        members = [proc]
        with suppress(ProcessLookupError, psutil.NoSuchProcess):
            if group and os.getpgid(proc.pid) == proc.pid:
                members += proc.children(recursive=True)  # before the signal: orphans are re-parented
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        _, alive = psutil.wait_procs(members, timeout=timeout_s)
        for survivor in alive:
            with suppress(psutil.NoSuchProcess):
                survivor.kill()
        psutil.wait_procs(alive, timeout=10)


def start_ticks(pid: int) -> int | None:
    """When the process started, in clock ticks after boot (field 22 of ``/proc/<pid>/stat``); None
    where there is no such file. The command name (field 2) may hold spaces and parentheses: the fields
    are counted after its closing one."""
    with suppress(OSError, IndexError, ValueError):
        return int(Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[19])
    return None


class ProcessTable:
    """The records, kept in a small JSON file under .local/ so another command can stop them."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def get(self, name: str) -> ProcessRecord | None:
        return self._read().get(name)

    def names(self) -> list[str]:
        return list(self._read())

    def put(self, record: ProcessRecord) -> None:
        records = self._read()
        records[record.name] = record
        self._write(records)

    def remove(self, name: str) -> None:
        records = self._read()
        records.pop(name, None)
        self._write(records)

    def _read(self) -> dict[str, ProcessRecord]:
        if not self._path.exists():
            return {}
        raw: dict[str, dict[str, object]] = json.loads(self._path.read_text())
        return {
            name: ProcessRecord(
                name=name,
                pid=int(str(r["pid"])),
                started=float(str(r["started"])),
                address=str(r.get("address", "")),
                ticks=int(str(r["ticks"])) if r.get("ticks") is not None else None,
            )
            for name, r in raw.items()
        }

    def _write(self, records: dict[str, ProcessRecord]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps({n: asdict(r) for n, r in records.items()}, indent=2) + "\n")
        tmp.replace(self._path)
