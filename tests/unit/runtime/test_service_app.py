"""Every service's operational endpoints: liveness, readiness that names what fails, Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Counter

from amnesty_runtime.service import ReadinessCheck, database_ready, kafka_ready, service_app


async def _fine() -> object:
    return 1


async def _broken() -> object:
    raise ConnectionRefusedError("connection refused")


async def _slow() -> str | None:
    await asyncio.sleep(5)
    return None


async def _broker_down(_timeout: float) -> bool:
    return False


def test_healthz_answers_while_dependencies_are_down() -> None:
    client = TestClient(service_app("intake", readiness=[database_ready(_broken)]))
    assert client.get("/healthz").json() == {"status": "ok", "service": "intake"}


def test_readyz_is_200_when_every_check_passes() -> None:
    client = TestClient(service_app("intake", readiness=[database_ready(_fine)]))
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_readyz_is_503_and_names_each_failing_check() -> None:
    checks = [
        database_ready(_broken),
        kafka_ready(_broker_down),
        ReadinessCheck("slow", _slow, timeout_s=0.05),
    ]
    response = TestClient(service_app("statistics", readiness=checks)).get("/readyz")
    assert response.status_code == 503
    failing = response.json()["failing"]
    assert set(failing) == {"database", "kafka", "slow"}
    assert "connection refused" in failing["database"]
    assert failing["kafka"] == "broker unreachable"
    assert "no answer" in failing["slow"]


def test_metrics_exposes_the_registry_in_prometheus_format() -> None:
    registry = CollectorRegistry()
    Counter("amnesty_probe", "a probe counter", registry=registry).inc(3)
    response = TestClient(service_app("eligibility", registry=registry)).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "amnesty_probe_total 3.0" in response.text
