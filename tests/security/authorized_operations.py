"""What the broker's authorizer says a principal may do on a topic, without doing it.

Metadata v8 can ask for each topic's ``topic_authorized_operations``: the broker's own authorizer
computes them for the connected principal. The ACL test uses it for the writes a principal *may* make,
so that proving them leaves nothing on the contract topics (other tests read those from the start);
the writes it may not make are attempted for real and refused. aiokafka only has Metadata up to v5.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Int16, Int32, Schema, String

READ = 3
WRITE = 4
"""AclOperation codes: bit N of topic_authorized_operations is operation N."""


class MetadataResponse_v8(Response):  # type: ignore[misc]  # noqa: N801
    API_KEY = 3
    API_VERSION = 8
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "brokers",
            Array(("node_id", Int32), ("host", String("utf-8")), ("port", Int32), ("rack", String("utf-8"))),
        ),
        ("cluster_id", String("utf-8")),
        ("controller_id", Int32),
        (
            "topics",
            Array(
                ("error_code", Int16),
                ("name", String("utf-8")),
                ("is_internal", Boolean),
                (
                    "partitions",
                    Array(
                        ("error_code", Int16),
                        ("partition_index", Int32),
                        ("leader_id", Int32),
                        ("leader_epoch", Int32),
                        ("replica_nodes", Array(Int32)),
                        ("isr_nodes", Array(Int32)),
                        ("offline_replicas", Array(Int32)),
                    ),
                ),
                ("topic_authorized_operations", Int32),
            ),
        ),
        ("cluster_authorized_operations", Int32),
    )


class MetadataRequest_v8(RequestStruct):  # type: ignore[misc]  # noqa: N801
    API_KEY = 3
    API_VERSION = 8
    RESPONSE_TYPE = MetadataResponse_v8
    SCHEMA = Schema(
        ("topics", Array(String("utf-8"))),  # [{name}]: on the wire, an array of names
        ("allow_auto_topic_creation", Boolean),
        ("include_cluster_authorized_operations", Boolean),
        ("include_topic_authorized_operations", Boolean),
    )


_Struct: TypeAlias = MetadataRequest_v8


class _AuthorizedOperations(Request[_Struct]):  # type: ignore[misc]
    API_KEY = 3

    def __init__(self, topics: list[str]) -> None:
        self._topics = topics

    def build(self, request_struct_class: type[_Struct]) -> _Struct:
        return request_struct_class(self._topics, False, False, True)


async def authorized_operations(admin: AIOKafkaAdminClient, topics: list[str]) -> dict[str, set[int]]:
    """Each topic's operations the connected principal is authorized for (empty: it may not see it)."""
    response: Any = await admin._send_request(_AuthorizedOperations(topics))
    found: dict[str, set[int]] = {}
    for _error, name, _internal, _partitions, bits in response.topics:
        found[name] = {op for op in range(32) if bits > 0 and bits & (1 << op)}
    return found
