"""Every error of a service's app is an RFC 9457 problem document (application/problem+json)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel
from structlog.testing import capture_logs

from amnesty_runtime.problems import PROBLEM_JSON, ProblemError, invalid_parameter
from amnesty_runtime.service import service_app

SECRET = "3012345678"  # what a raw tax number in an exception's message would look like


class Item(BaseModel):
    name: str
    count: int


def _app() -> FastAPI:
    app = service_app("problems-test")

    @app.get("/items/{item_id}")
    async def item(item_id: int, limit: int = 10) -> dict[str, int]:
        if item_id == 7:
            raise invalid_parameter("limit", "too many for item 7")
        return {"item_id": item_id, "limit": limit}

    @app.post("/items")
    async def create(item: Item) -> Item:
        return item

    @app.get("/forbidden")
    async def forbidden() -> None:
        raise ProblemError(403, "not for you", code="forbidden-here")

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.get("/crash")
    async def crash() -> None:
        raise ValueError(f"no case for person {SECRET}")

    @app.get("/crash-mid-stream")
    async def crash_mid_stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"first"
            raise ValueError(f"no case for person {SECRET}")

        return StreamingResponse(chunks())

    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(_app())


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


def test_an_unknown_path_is_a_404_problem(client: TestClient) -> None:
    body = _problem(client.get("/no/such/thing"), 404)
    assert body == {"type": "about:blank", "title": "Not Found", "status": 404, "instance": "/no/such/thing"}


def test_a_wrong_method_is_a_405_problem_with_the_allowed_ones(client: TestClient) -> None:
    response = client.delete("/healthz")
    _problem(response, 405)
    assert response.headers["allow"] == "GET"


def test_a_parameter_fastapi_cannot_convert_is_a_400_naming_it(client: TestClient) -> None:
    body = _problem(client.get("/items/3", params={"limit": "many"}), 400)
    assert body["type"] == "urn:amnesty-events:problem:invalid-parameter"
    assert [e["parameter"] for e in body["errors"]] == ["limit"]
    assert "limit" in body["detail"]
    assert "many" not in str(body), "the value sent is not echoed"


def test_a_path_parameter_fastapi_cannot_convert_is_a_400_naming_it(client: TestClient) -> None:
    body = _problem(client.get("/items/seven"), 400)
    assert [e["parameter"] for e in body["errors"]] == ["item_id"]


def test_a_parameter_a_route_refuses_is_a_400_naming_it(client: TestClient) -> None:
    body = _problem(client.get("/items/7"), 400)
    assert body["errors"] == [{"parameter": "limit", "message": "too many for item 7"}]
    assert body["instance"] == "/items/7"


def test_an_invalid_body_is_a_422_naming_each_field(client: TestClient) -> None:
    body = _problem(client.post("/items", json={"name": "x", "count": "lots"}), 422)
    assert body["type"] == "urn:amnesty-events:problem:invalid-body"
    assert [e["field"] for e in body["errors"]] == ["count"]
    missing = _problem(client.post("/items", json={}), 422)
    assert sorted(e["field"] for e in missing["errors"]) == ["count", "name"]


def test_a_raised_problem_keeps_its_status_type_and_detail(client: TestClient) -> None:
    body = _problem(client.get("/forbidden"), 403)
    assert (body["type"], body["detail"]) == ("urn:amnesty-events:problem:forbidden-here", "not for you")


def test_an_unhandled_exception_is_a_json_500_logged_with_its_frames_but_not_its_message(
    client: TestClient,
) -> None:
    with capture_logs() as logs:
        response = client.get("/crash")
    body = _problem(response, 500)
    assert SECRET not in response.text
    assert body["detail"]
    assert "ValueError" not in body["detail"]
    (entry,) = [e for e in logs if e["event"] == "unhandled-error"]
    assert (entry["log_level"], entry["error"], entry["route"]) == ("error", "ValueError", "/crash")
    assert "in crash" in entry["frames"], "the traceback's frames are logged"
    assert SECRET not in str(entry)


def test_an_exception_after_the_answer_started_ends_the_stream_and_is_logged(client: TestClient) -> None:
    with capture_logs() as logs:
        response = client.get("/crash-mid-stream")
    assert response.status_code == 200
    assert response.content == b"first"
    (entry,) = [e for e in logs if e["event"] == "unhandled-error"]
    assert entry["response_started"] is True
    assert SECRET not in str(entry)


async def test_a_client_gone_mid_upload_is_no_failure_of_the_service() -> None:
    """Starlette raises ClientDisconnect when the client goes while its body is read: counted as an
    unhandled error with a 500, it raised false alarms."""
    from amnesty_runtime.metrics import HTTP_REQUESTS, HTTP_UNHANDLED_ERRORS

    app = _app()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/upload", "raw_path": b"/upload", "root_path": "", "query_string": b"",
        "headers": [(b"content-length", b"100")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2),
    }  # fmt: skip
    arrivals: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"part", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return arrivals.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    def unhandled() -> float:
        return sum(
            s.value
            for m in HTTP_UNHANDLED_ERRORS.collect()
            for s in m.samples
            if s.labels.get("service") == "problems-test"
        )

    def counted(status: str) -> float:
        return sum(
            s.value
            for m in HTTP_REQUESTS.collect()
            for s in m.samples
            if s.name.endswith("_total")
            and s.labels.get("route") == "/upload"
            and s.labels.get("status") == status
        )

    before_unhandled, before_gone = unhandled(), counted("499")
    with capture_logs() as logs:
        async with app.router.lifespan_context(app):
            await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent == []
    assert [e["event"] for e in logs if e["event"] in ("unhandled-error", "client-disconnected")] == [
        "client-disconnected"
    ]
    assert unhandled() == before_unhandled
    assert counted("499") == before_gone + 1
