"""A service run as a real process, as in production: its console script, its environment, its logs."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx2


@dataclass
class ServiceProcess:
    """One service process; ``log`` collects its stdout and stderr across restarts."""

    script: str
    env: dict[str, str]
    log: Path
    port: int
    process: asyncio.subprocess.Process | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def launch(self) -> asyncio.subprocess.Process:
        """Start the process without waiting for it (e.g. to kill it while it catches up)."""
        executable = Path(sys.executable).parent / self.script
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                str(executable),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, **self.env},  # noqa: TID251 - a child process inherits the environment
            )
        return self.process

    async def start(self, ready_timeout_s: float = 60.0) -> None:
        """Start the process and wait until /readyz answers 200."""
        process = await self.launch()
        async with httpx2.AsyncClient(base_url=self.url, timeout=2) as client:
            for _ in range(int(ready_timeout_s * 10)):
                if process.returncode is not None:
                    tail = self.log.read_text()[-3000:]
                    raise RuntimeError(f"{self.script} exited with {process.returncode}:\n{tail}")
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(
            f"{self.script} not ready within {ready_timeout_s}s:\n{self.log.read_text()[-3000:]}"
        )

    def log_tail(self, lines: int = 8, width: int = 240) -> str:
        """The log's last lines above debug level, each cut to ``width``: what a failed test's report
        shows of the process. Only the log's end is read: a log kept across restarts can be large."""
        if not self.log.exists():
            return f"(no log at {self.log})"
        with self.log.open("rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - 64 * 1024))
            end = log.read().decode(errors="replace")
        said = [line for line in end.splitlines() if '"level": "debug"' not in line]
        return "\n".join(line[:width] for line in said[-lines:])

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a machine dies."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int:
        """SIGTERM and wait: the graceful path."""
        if self.process is None:
            return 0
        if self.process.returncode is not None:
            return self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 30)
