"""Every service's operational endpoints: liveness, readiness that names what fails, Prometheus metrics;
every request named in the log by its correlation id."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Counter
from structlog.testing import capture_logs

from amnesty_runtime.service import (
    CORRELATION_HEADER,
    ReadinessCheck,
    database_ready,
    kafka_ready,
    service_app,
)


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
    # Named by its kind only: its text (addresses, role names) goes to the log, not to anyone asking.
    assert failing["database"].startswith("ConnectionRefusedError")
    assert "connection refused" not in failing["database"]
    assert failing["kafka"] == "broker unreachable"
    assert "no answer" in failing["slow"]


def test_metrics_exposes_the_registry_in_prometheus_format() -> None:
    registry = CollectorRegistry()
    Counter("amnesty_probe", "a probe counter", registry=registry).inc(3)
    response = TestClient(service_app("eligibility", registry=registry)).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "amnesty_probe_total 3.0" in response.text


def _logging_app() -> FastAPI:
    app = service_app("intake")

    @app.get("/probe")
    async def probe() -> dict[str, str]:
        structlog.get_logger("probe").info("submission handled")
        return {}

    return app


def test_a_request_logs_and_answers_with_the_clients_correlation_id() -> None:
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as lines:
        response = TestClient(_logging_app()).get("/probe", headers={CORRELATION_HEADER: "upstream-42"})
    assert response.headers[CORRELATION_HEADER] == "upstream-42"
    (line,) = lines
    assert line["correlation_id"] == "upstream-42"
    assert line["causation_id"] not in ("", "upstream-42")


@pytest.mark.parametrize("given", [None, "", "x" * 129, "two words", "line\nbreak"])
def test_a_missing_or_unusable_correlation_id_is_replaced_by_a_new_one(given: str | None) -> None:
    client = TestClient(_logging_app())
    headers = {} if given is None else {CORRELATION_HEADER: given}
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as lines:
        first = client.get("/probe", headers=headers).headers[CORRELATION_HEADER]
        second = client.get("/probe", headers=headers).headers[CORRELATION_HEADER]
    assert first != second
    assert [line["correlation_id"] for line in lines] == [first, second]
    assert all(str(uuid.UUID(answer)) == answer for answer in (first, second))
