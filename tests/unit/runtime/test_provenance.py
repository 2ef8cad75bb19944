"""Provenance in a service: keys from files or no start; forged events dead-lettered, never applied."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from amnesty_eventstore import DbConnection
from amnesty_eventstore.consumption import Delivery
from amnesty_eventstore.signatures import Signer, SigningKey, Verifier
from amnesty_runtime.policy import INVALID, Apply, BatchReport
from amnesty_runtime.provenance import MissingKeyError, Verified, signer_of, verifier_of
from amnesty_runtime.settings import ServiceSettings
from amnesty_runtime.stack.signing_keys import service_key_environment, signing_key_file

INTAKE = SigningKey("intake", b"i" * 32)


class _Settings(ServiceSettings):
    http_port: int = 0


class _Policy:
    """Applies whatever it is given, reporting each message's value as its type."""

    service = "eligibility"

    def __init__(self) -> None:
        self.prepared: list[Delivery] = []
        self.applied: list[Delivery] = []

    def forget(self) -> None:
        return None

    def prepare(self, deliveries: Sequence[Delivery]) -> Apply:
        self.prepared += deliveries

        async def apply(_conn: Any, to_apply: Sequence[Delivery]) -> BatchReport:
            self.applied += to_apply
            return BatchReport(types=[d.value.decode() for d in to_apply])

        return apply


class _Connection:
    def __init__(self) -> None:
        self.executed: list[tuple[Any, ...]] = []

    async def execute(self, *args: Any) -> None:
        self.executed.append(args)


def applied(verified: Verified, conn: _Connection, batch: list[Delivery]) -> BatchReport:
    async def run() -> BatchReport:
        return await verified.prepare(batch)(cast(DbConnection, conn), batch)

    return asyncio.run(run())


def delivery(offset: int, value: bytes, signer: Signer | None) -> Delivery:
    headers = tuple(signer.headers("cases", b"p", value)) if signer else ()
    return Delivery("cases", 0, offset, b"p", value, headers=headers)


def test_forged_events_never_reach_the_policy_and_are_dead_lettered_with_their_reason() -> None:
    genuine, forged = Signer(INTAKE), Signer(SigningKey("intake", b"f" * 32))
    batch = [
        delivery(0, b"A", genuine),
        delivery(1, b"B", None),
        delivery(2, b"C", genuine),
        delivery(3, b"D", forged),
    ]
    policy, conn = _Policy(), _Connection()
    verified = Verified(policy, Verifier([INTAKE], {"cases": "intake"}), "eligibility", "rejected")

    report = applied(verified, conn, batch)

    assert [d.value for d in policy.prepared] == [b"A", b"C"]
    assert [d.value for d in policy.applied] == [b"A", b"C"]
    assert report.types == ["A", INVALID, "C", INVALID]
    assert report.rejected == ["unsigned", "unknown-key"]
    ((_sql, topic, _ids, keys, values, *_),) = conn.executed
    letters = [json.loads(v) for v in values]
    assert topic == "rejected"
    assert keys == [b"p", b"p"]
    assert [(x["reason"], x["offset"], x["service"]) for x in letters] == [
        ("unsigned", 1, "eligibility"),
        ("unknown-key", 3, "eligibility"),
    ]
    assert [base64.b64decode(x["original"]) for x in letters] == [b"B", b"D"]


def test_a_genuine_batch_writes_no_dead_letter() -> None:
    batch = [delivery(0, b"A", Signer(INTAKE))]
    policy, conn = _Policy(), _Connection()
    verified = Verified(policy, Verifier([INTAKE], {"cases": "intake"}), "eligibility")
    assert applied(verified, conn, batch).types == ["A"]
    assert conn.executed == []


def test_a_service_without_its_signing_key_refuses_to_start() -> None:
    with pytest.raises(MissingKeyError, match="AMNESTY_ELIGIBILITY_SIGNING_KEY_FILE"):
        signer_of("eligibility", _Settings())


def test_a_consumer_without_the_keys_of_a_producer_refuses_to_start(tmp_path: Path) -> None:
    settings = _Settings(verifying_key_files={"intake": [signing_key_file(tmp_path, "intake")]})
    with pytest.raises(MissingKeyError, match="verifying key of eligibility"):
        verifier_of("statistics", settings, {"cases": "intake", "decisions": "eligibility"})


def test_a_missing_or_malformed_key_file_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "bad.key").write_text("not hex\n")
    for path in (tmp_path / "absent.key", tmp_path / "bad.key"):
        with pytest.raises(MissingKeyError, match=str(path)):
            signer_of("intake", _Settings(signing_key_file=path))


def test_the_local_stack_gives_each_service_its_key_and_only_its_producers_keys(tmp_path: Path) -> None:
    env = service_key_environment("eligibility", tmp_path / "secrets")
    assert json.loads(env["AMNESTY_ELIGIBILITY_VERIFYING_KEY_FILES"]) == {
        "intake": [str(tmp_path / "secrets" / "signing-intake.key")]
    }
    key = Path(env["AMNESTY_ELIGIBILITY_SIGNING_KEY_FILE"])
    assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "secrets").stat().st_mode & 0o777 == 0o700
    assert signing_key_file(tmp_path / "secrets", "eligibility").read_text() == key.read_text()
    assert signer_of("eligibility", _Settings(signing_key_file=key)).producer == "eligibility"
