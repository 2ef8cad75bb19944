"""The Kafka headers that prove a domain event's producer (docs/contract.md, "Provenance").

The names are part of the contract; how the signature is made and checked is in
``amnesty_eventstore.signatures``.
"""

from __future__ import annotations

from typing import Any, Final

PRODUCER_HEADER: Final = "amnesty-producer"
"""The service that produced the message (e.g. ``intake``)."""
KEY_ID_HEADER: Final = "amnesty-key-id"
"""Which of the producer's keys signed it: keys rotate, consumers accept a configured set."""
SIGNATURE_HEADER: Final = "amnesty-signature"
"""HMAC-SHA256 of the signed bytes, lowercase hex."""


def signature_headers_schema(producer: str) -> dict[str, Any]:
    """The JSON Schema of the provenance headers of a message ``producer`` publishes."""
    return {
        "type": "object",
        "description": (
            "Provenance: consumers dead-letter a message whose signature does not prove its producer "
            "(reasons unsigned, unknown-key, bad-signature, producer-not-allowed)."
        ),
        "properties": {
            PRODUCER_HEADER: {"type": "string", "const": producer, "description": "The producing service."},
            KEY_ID_HEADER: {
                "type": "string",
                "pattern": "^[0-9a-f]{16}$",
                "description": "The id of the producer's key that signed the message.",
            },
            SIGNATURE_HEADER: {
                "type": "string",
                "pattern": "^[0-9a-f]{64}$",
                "description": (
                    "HMAC-SHA256 (hex) over the topic, key, producer, key id and exact value bytes, "
                    "each length-prefixed."
                ),
            },
        },
        "required": [PRODUCER_HEADER, KEY_ID_HEADER, SIGNATURE_HEADER],
    }
