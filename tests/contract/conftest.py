"""The contract suite's one fixture that needs infrastructure: the running system, given or started."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.running_system import RunningSystem, SystemAddresses, running_system


@pytest.fixture(scope="session")
def system_addresses() -> SystemAddresses:
    return SystemAddresses()


@pytest.fixture(scope="session")
def local_stack(
    request: pytest.FixtureRequest, system_addresses: SystemAddresses
) -> tuple[Endpoints, Pool] | None:
    """The test stack, only when no running system is given: against one, nothing local starts.

    Looked up here, outside the event loop, because an async fixture cannot request another lazily.
    """
    if system_addresses.given is not None:
        return None
    endpoints: Endpoints = request.getfixturevalue("endpoints")
    admin_pool: Pool = request.getfixturevalue("admin_pool")
    return endpoints, admin_pool


@pytest.fixture(scope="session")
async def system(
    system_addresses: SystemAddresses,
    local_stack: tuple[Endpoints, Pool] | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningSystem]:
    """The system under contract: the given addresses, or the three services started on the stack."""
    async with running_system(system_addresses, local_stack, tmp_path_factory.mktemp("services")) as running:
        yield running


@pytest.fixture(autouse=True, scope="session")
def no_pact_usage_tracking() -> Iterator[None]:
    # pact's verifier reports usage over the network unless told not to; tests make no outside calls.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PACT_DO_NOT_TRACK", "true")
        yield
