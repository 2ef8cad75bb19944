"""HTTP parameters fuzzed in-process: the statistics API's parameter checks take any text, and the apps
(not started: nothing behind them) answer any request they can answer alone without a server error, every
client error a problem. The whole path through a running system is fuzzed in test_running_system."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from amnesty_eligibility.entrypoint import build_app as eligibility_app
from amnesty_eligibility.settings import EligibilitySettings
from amnesty_intake.entrypoint import build_app as intake_app
from amnesty_intake.settings import IntakeSettings
from amnesty_statistics.domain.queries import InvalidParameter, parse_filters, parse_series
from tests.fuzz.budget import FEW, FUZZ
from tests.fuzz.http_requests import (
    Call,
    answered_properly,
    common_calls,
    headers,
    request_arguments,
    submission_bodies,
)

TOKEN = "fuzz-token-" + "t" * 24
STATS_PARAMETERS = ("from", "to", "region", "article", "metric", "period")

parameter_values = (
    st.none()
    | st.text(max_size=30)
    | st.dates().map(str)
    | st.from_regex(r"-?[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}", fullmatch=True)
)


@FUZZ
@given(st.fixed_dictionaries({}, optional=dict.fromkeys(STATS_PARAMETERS, parameter_values)))
def test_any_statistics_parameters_are_a_query_or_name_the_one_at_fault(
    params: dict[str, str | None],
) -> None:
    for parsed in (parse_filters(params), parse_filters(params, by_region=False), parse_series(params)):
        if isinstance(parsed, InvalidParameter):
            assert parsed.parameter in STATS_PARAMETERS, parsed
            assert parsed.detail


@pytest.fixture(scope="module")
def apps() -> dict[str, TestClient]:
    built: dict[str, FastAPI] = {
        "intake": intake_app(IntakeSettings(pseudonym_key="fuzz-key-" + "k" * 32, api_token=TOKEN)),
        "eligibility": eligibility_app(EligibilitySettings()),
    }
    # Not entered as context managers: the lifespans (database, broker) never start.
    return {name: TestClient(app, raise_server_exceptions=False) for name, app in built.items()}


def _send(client: TestClient, call: Call) -> None:
    answered_properly(client.request(call.method, call.path, **request_arguments(call)), call)


@pytest.mark.parametrize("service", ["intake", "eligibility"])
@FEW
@given(call=common_calls())
def test_a_service_answers_any_request_on_its_own_endpoints_properly(
    apps: dict[str, TestClient], service: str, call: Call
) -> None:
    _send(apps[service], call)


@FEW
@given(headers, submission_bodies)
def test_a_submission_without_the_right_token_is_a_401_problem_whatever_it_carries(
    apps: dict[str, TestClient], given_headers: dict[str, str], body: bytes
) -> None:
    call = Call("POST", "/v1/submissions", [], given_headers, body)
    response = apps["intake"].request(call.method, call.path, **request_arguments(call))
    answered_properly(response, call)
    assert response.status_code == 401, response.text
