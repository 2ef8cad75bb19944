"""HTTP requests to fuzz every service with: each endpoint's query parameters (valid, near-valid and
junk), path parameters, the headers a client controls, and bodies; and what every answer must be."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx2
from hypothesis import strategies as st

from amnesty_contracts import REGION_NAMES
from tests.fuzz.upstream_messages import json_values, near_valid_submissions, upstream_bytes

PROBLEM_JSON = "application/problem+json"

_printable = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
_any_text = st.text(max_size=40)
_dates = st.one_of(
    st.dates().map(str),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
    st.sampled_from(["1999-12-31", "2000-01-01", "2099-12-31", "2100-01-01", "2025-02-30", "0001-01-01"]),
    _any_text,
)
_STATS_PARAMETERS: dict[str, st.SearchStrategy[str]] = {
    "from": _dates,
    "to": _dates,
    "region": st.sampled_from([*sorted(REGION_NAMES), "unknown", "UA-00", "ua-48"]) | _any_text,
    "article": st.sampled_from(["407", "408", "unknown", "409", " 407"]) | _any_text,
    "metric": st.sampled_from(
        ["cases_opened", "voluntary_returns", "open_cases", "return_rate", "pending", "revoked", "x"]
    )
    | _any_text,
    "period": st.sampled_from(["day", "week", "month", "year", "DAY"]) | _any_text,
    "junk": _any_text,
}
_ENDPOINT_PARAMETERS: dict[str, list[str]] = {
    "/v1/stats/summary": ["from", "to", "region", "article", "junk"],
    "/v1/stats/series": ["metric", "period", "from", "to", "region", "article", "junk"],
    "/v1/stats/regions": ["from", "to", "junk"],
}
COMMON_PATHS = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/nope", "/v1", "//", "/%00"]
"""Every service's own endpoints and its docs, and paths none has."""


@dataclass(frozen=True)
class Call:
    """One request as the fuzzer sends it."""

    method: str
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


# A header value must be latin-1, free of control characters and not start or end with a space to be
# sent at all (h11 refuses it otherwise); within that, anything.
_header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=300
).map(lambda value: value.strip(" "))
headers = st.fixed_dictionaries(
    {},
    optional={
        "X-Correlation-ID": st.uuids().map(str) | _header_values,
        "Accept": st.sampled_from(["*/*", "application/json", "text/event-stream", "text/html"]) | _printable,
        "Content-Type": st.sampled_from(["application/json", "text/plain", "multipart/form-data"])
        | _printable,
        "Authorization": _header_values,
        "If-None-Match": _header_values,
    },
)


@st.composite
def stats_calls(draw: st.DrawFn) -> Call:
    """A GET of one of the statistics API's endpoints, some of its parameters (repeated ones too)."""
    path = draw(st.sampled_from(sorted(_ENDPOINT_PARAMETERS)))
    names = draw(st.lists(st.sampled_from(_ENDPOINT_PARAMETERS[path]), max_size=6))
    params = [(n, draw(_STATS_PARAMETERS[n])) for n in names]
    return Call(draw(st.sampled_from(["GET", "GET", "HEAD", "POST"])), path, params, draw(headers))


@st.composite
def common_calls(draw: st.DrawFn) -> Call:
    """Any method on a service's own endpoints, docs, unknown paths, and intake's schema documents."""
    path = draw(
        st.sampled_from(COMMON_PATHS)
        | st.sampled_from(["/", "/asyncapi.json", "/schemas/"])
        | _printable.map(lambda name: "/schemas/" + name.replace("?", "").replace("#", ""))
    )
    method = draw(st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]))
    params = draw(st.lists(st.tuples(_printable, _any_text), max_size=3))
    return Call(method, path, params, draw(headers))


submission_bodies = st.one_of(
    upstream_bytes,
    st.lists(near_valid_submissions(), max_size=5).map(lambda v: json.dumps(v).encode()),
    st.lists(json_values, max_size=5).map(lambda v: json.dumps(v).encode()),
    st.just(b""),
)
"""POST /v1/submissions bodies: whatever upstream could send, one or an array."""


def request_arguments(call: Call) -> dict[str, Any]:
    """The call's query, headers and body as an httpx client's ``request`` takes them."""
    return {
        "params": urlencode(call.params),
        # Header values as the bytes a client sends (latin-1), which httpx would refuse past ASCII.
        "headers": {name.encode(): value.encode("latin-1") for name, value in call.headers.items()},
        "content": call.body,
    }


def answered_properly(response: httpx2.Response, call: Call) -> None:
    """Never a server error; every client error an RFC 9457 problem."""
    assert response.status_code < 500, (call, response.status_code, response.text[:500])
    if 400 <= response.status_code < 500 and call.method != "HEAD":
        assert response.headers.get("content-type") == PROBLEM_JSON, (call, response.headers)
        problem: dict[str, Any] = response.json()
        assert problem["status"] == response.status_code, (call, problem)
        assert problem["title"], (call, problem)
