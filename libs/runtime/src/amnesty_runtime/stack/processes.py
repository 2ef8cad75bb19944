"""The processes the stack started, remembered by pid and start time so `down` ends exactly those."""

from __future__ import annotations

import json
import signal
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class ProcessRecord:
    """A process started by the stack. The start time guards against a recycled pid."""

    name: str
    pid: int
    started: float
    address: str = ""

    @classmethod
    def of(cls, name: str, pid: int, address: str = "") -> ProcessRecord:
        return cls(name=name, pid=pid, started=psutil.Process(pid).create_time(), address=address)

    def process(self) -> psutil.Process | None:
        """The live process, or None when it has exited or the pid now belongs to another process."""
        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.started) > 1.0 or proc.status() == psutil.STATUS_ZOMBIE:
                return None
        except psutil.NoSuchProcess:
            return None
        return proc

    def alive(self) -> bool:
        return self.process() is not None

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 60.0) -> None:
        """Signal the process and wait for it to exit; kill it if it outlives the timeout."""
        proc = self.process()
        if proc is None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout_s)
        except psutil.TimeoutExpired:
            proc.kill()
            proc.wait(10)


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
            )
            for name, r in raw.items()
        }

    def _write(self, records: dict[str, ProcessRecord]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps({n: asdict(r) for n, r in records.items()}, indent=2) + "\n")
        tmp.replace(self._path)
