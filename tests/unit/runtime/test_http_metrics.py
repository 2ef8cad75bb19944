"""Every service counts and times its HTTP requests by method, route template and status."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from amnesty_runtime.service import service_app

REQUESTS = "amnesty_http_requests_total"
SECONDS_COUNT = "amnesty_http_request_seconds_count"
UNHANDLED = "amnesty_http_unhandled_errors_total"


def _app() -> tuple[FastAPI, str]:
    service = f"metrics-{uuid.uuid4().hex[:8]}"  # its own label values: tests do not see each other
    app = service_app(service)

    @app.get("/cases/{case_id}")
    async def case(case_id: str) -> dict[str, str]:
        return {"case": "pseudonymous"}

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    return app, service


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_request_is_counted_under_its_route_template_never_its_raw_path() -> None:
    app, service = _app()
    client = TestClient(app)
    for case_number in ("12024100000001234", "12024100000005678"):
        assert client.get(f"/cases/{case_number}").status_code == 200
    labels = {"service": service, "method": "GET", "route": "/cases/{case_id}"}
    assert _count(REQUESTS, **labels, status="200") == 2
    assert _count(SECONDS_COUNT, **labels) == 2
    exposition = client.get("/metrics").text
    assert service in exposition
    assert "12024100000001234" not in exposition


def test_errors_are_counted_by_status() -> None:
    app, service = _app()
    client = TestClient(app)
    client.get("/nowhere/12024100000001234")
    client.post("/healthz")
    client.get("/crash")
    assert _count(REQUESTS, service=service, method="GET", route="unmatched", status="404") == 1
    assert _count(REQUESTS, service=service, method="POST", route="/healthz", status="405") == 1
    assert _count(REQUESTS, service=service, method="GET", route="/crash", status="500") == 1
    assert _count(UNHANDLED, service=service, route="/crash", error="RuntimeError") == 1


def test_mounted_files_and_plain_routes_have_their_templates_too() -> None:
    app, service = _app()
    client = TestClient(app)
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert _count(REQUESTS, service=service, method="GET", route="/docs/assets/{path}", status="200") == 1
    assert _count(REQUESTS, service=service, method="GET", route="/openapi.json", status="200") == 1


def test_an_unusual_method_is_counted_as_other() -> None:
    app, service = _app()
    TestClient(app).request("BREW", "/healthz")
    assert _count(REQUESTS, service=service, method="other", route="/healthz", status="405") == 1
