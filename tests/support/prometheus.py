"""A real Prometheus (Debian's /usr/bin/prometheus, installed by `make install`) scraping services under
test: bound to 127.0.0.1 on a free port, its data in a temporary folder, one scrape job per service
named as in deploy/prometheus/prometheus.yml, so that queries and alert rules written for production
run unchanged.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx2

from amnesty_runtime.stack.ports import free_port

PROMETHEUS: Final = Path("/usr/bin/prometheus")
SCRAPE_INTERVAL_S: Final = 1


@dataclass(frozen=True)
class PrometheusUnderTest:
    url: str

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of ``expr`` now (raises on a query Prometheus rejects)."""
        async with httpx2.AsyncClient(base_url=self.url, timeout=10) as http:
            response = await http.get("/api/v1/query", params={"query": expr})
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"{expr}: {body.get('errorType')}: {body.get('error')}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def alert_rules(self) -> list[dict[str, Any]]:
        """The loaded alert rules with their health, last error and state."""
        async with httpx2.AsyncClient(base_url=self.url, timeout=10) as http:
            body = (await http.get("/api/v1/rules", params={"type": "alert"})).json()
        return [rule for group in body["data"]["groups"] for rule in group["rules"]]


def scrape_config(targets: Mapping[str, str], rule_files: Sequence[Path] = ()) -> dict[str, Any]:
    """``targets``: job name → host:port of a service's /metrics; ``rule_files``: alert rules to load."""
    return {
        "global": {
            "scrape_interval": f"{SCRAPE_INTERVAL_S}s",
            "evaluation_interval": f"{SCRAPE_INTERVAL_S}s",
        },
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {"job_name": job, "metrics_path": "/metrics", "static_configs": [{"targets": [target]}]}
            for job, target in targets.items()
        ],
    }


@asynccontextmanager
async def prometheus_under_test(
    targets: Mapping[str, str], workdir: Path, rule_files: Sequence[Path] = ()
) -> AsyncIterator[PrometheusUnderTest]:
    if not PROMETHEUS.exists():
        raise RuntimeError(f"{PROMETHEUS} is missing: `make install` installs Debian's prometheus package")
    config = workdir / "prometheus.yml"
    config.write_text(json.dumps(scrape_config(targets, rule_files)))  # JSON is YAML
    port = free_port()
    with (workdir / "prometheus.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            str(PROMETHEUS),
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        await _ready(url, process, workdir / "prometheus.log")
        yield PrometheusUnderTest(url)
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)


async def _ready(url: str, process: asyncio.subprocess.Process, log: Path, timeout_s: float = 30) -> None:
    async with httpx2.AsyncClient(base_url=url, timeout=2) as http:
        for _ in range(int(timeout_s * 10)):
            if process.returncode is not None:
                raise RuntimeError(f"prometheus exited with {process.returncode}:\n{await _tail(log)}")
            try:
                if (await http.get("/-/ready")).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"prometheus not ready within {timeout_s}s:\n{await _tail(log)}")


async def _tail(log: Path) -> str:
    return (await asyncio.to_thread(log.read_text))[-3000:]
