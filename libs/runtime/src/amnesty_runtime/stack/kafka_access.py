"""Giving the principals their SCRAM credentials and ACLs, through the admin requests aiokafka lacks.

aiokafka 0.14 only has CreateAcls v0/v1, which Kafka 4 no longer accepts (KIP-896), and has no SCRAM
request at all. Both are small flexible-version requests, written here from the Kafka protocol's JSON
schemas (clients/src/main/resources/common/message/{CreateAcls,AlterUserScramCredentials}Request.json)
and sent through aiokafka's own connection (SASL handshake, API version negotiation, retries).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, TypeAlias

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.principals import ALLOW, Acl, contract_acls

SCRAM_SHA_512 = 2
"""ScramMechanism.SCRAM_SHA_512's wire code."""
SCRAM_ITERATIONS = 8192
"""Kafka's minimum for SHA-512 is 4096; twice that costs the broker nothing noticeable per login."""


class CreateAclsResponse_v2(Response):  # type: ignore[misc]  # noqa: N801
    API_KEY = 30
    API_VERSION = 2
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("error_code", Int16), ("error_message", CompactString("utf-8")), ("tags", TaggedFields)
            ),
        ),
        ("tags", TaggedFields),
    )


class CreateAclsRequest_v2(RequestStruct):  # type: ignore[misc]  # noqa: N801
    FLEXIBLE_VERSION = True
    API_KEY = 30
    API_VERSION = 2
    RESPONSE_TYPE = CreateAclsResponse_v2
    SCHEMA = Schema(
        (
            "creations",
            CompactArray(
                ("resource_type", Int8),
                ("resource_name", CompactString("utf-8")),
                ("resource_pattern_type", Int8),
                ("principal", CompactString("utf-8")),
                ("host", CompactString("utf-8")),
                ("operation", Int8),
                ("permission_type", Int8),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


_CreateAclsStruct: TypeAlias = CreateAclsRequest_v2


class CreateAcls(Request[_CreateAclsStruct]):  # type: ignore[misc]
    API_KEY = 30

    def __init__(self, acls: list[Acl]) -> None:
        self._creations: list[tuple[Any, ...]] = [
            (
                int(a.resource_type),
                a.resource_name,
                int(a.pattern_type),
                a.kafka_principal,
                "*",
                int(a.operation),
                ALLOW,
                {},
            )
            for a in acls
        ]

    def build(self, request_struct_class: type[_CreateAclsStruct]) -> _CreateAclsStruct:
        return request_struct_class(self._creations, {})


class AlterUserScramCredentialsResponse_v0(Response):  # type: ignore[misc]  # noqa: N801
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest_v0(RequestStruct):  # type: ignore[misc]  # noqa: N801
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = AlterUserScramCredentialsResponse_v0
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


_ScramStruct: TypeAlias = AlterUserScramCredentialsRequest_v0


class UpsertScramCredentials(Request[_ScramStruct]):  # type: ignore[misc]
    API_KEY = 51

    def __init__(self, passwords: dict[str, str]) -> None:
        self._upsertions: list[tuple[Any, ...]] = []
        for user, password in passwords.items():
            salt = os.urandom(32)
            # SCRAM's Hi(): what the broker stores; the password itself never reaches it.
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, SCRAM_ITERATIONS)
            self._upsertions.append((user, SCRAM_SHA_512, SCRAM_ITERATIONS, salt, salted, {}))

    def build(self, request_struct_class: type[_ScramStruct]) -> _ScramStruct:
        return request_struct_class([], self._upsertions, {})


async def upsert_scram_users(admin: AIOKafkaAdminClient, passwords: dict[str, str]) -> None:
    """Create or reset the SCRAM-SHA-512 credential of each user (the broker forwards it to the quorum)."""
    response: Any = await admin._send_request(UpsertScramCredentials(passwords))
    failed = [f"{user}: {message or code}" for user, code, message, _ in response.results if code]
    if failed:
        raise StackError(f"Kafka refused SCRAM credentials: {'; '.join(failed)}")


async def create_acls(admin: AIOKafkaAdminClient, acls: list[Acl]) -> None:
    """Create the ACLs (creating one that exists is a no-op on the broker)."""
    response: Any = await admin._send_request(CreateAcls(acls))
    failed = [
        f"{acl}: {message or code}"
        for acl, (code, message, _) in zip(acls, response.results, strict=True)
        if code
    ]
    if failed:
        raise StackError(f"Kafka refused ACLs: {'; '.join(failed)}")


async def provision_access(admin: KafkaClientOptions, passwords: dict[str, str]) -> None:
    """Every principal's credential (set again: a lost or rotated file gets its password back) and the
    contract's ACLs, as the admin; idempotent."""
    client = AIOKafkaAdminClient(**admin.aiokafka(), request_timeout_ms=10000)
    await client.start()
    try:
        await upsert_scram_users(client, passwords)
        await create_acls(client, contract_acls())
    finally:
        await client.close()
