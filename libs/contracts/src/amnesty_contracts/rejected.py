"""The message published on `amnesty.rejected.v1` for every message refused: nothing is dropped silently."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from amnesty_contracts.dates import Timestamp
from amnesty_contracts.rejections import MAX_MESSAGE_BYTES, Rejection, RejectionReason


def _base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except binascii.Error:
        raise PydanticCustomError("base64", "must be standard base64") from None
    return value


Base64Text = Annotated[
    str,
    Field(strict=True, json_schema_extra={"contentEncoding": "base64"}),
    AfterValidator(_base64),
]


class RejectedMessage(BaseModel):
    """A refused message with its reason, its original bytes and where it came from.

    It holds no more personal data than the original: the detail never quotes a value.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    reason: RejectionReason
    detail: str = Field(strict=True, description="human-readable, names the field and the rule")
    original: Base64Text = Field(description="the original bytes, base64; only the first 64 KiB if larger")
    original_sha256: str = Field(
        strict=True, pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of all the original bytes"
    )
    topic: str | None = Field(strict=True, description="source topic; null when received over HTTP")
    partition: int | None = Field(strict=True, ge=0, description="source partition; null over HTTP")
    offset: int | None = Field(strict=True, ge=0, description="source offset; null over HTTP")
    service: str = Field(strict=True, min_length=1, description="the service that refused it")
    rejected_at: Timestamp

    def original_bytes(self) -> bytes:
        """Return the original bytes kept (the first 64 KiB when the message was larger)."""
        return base64.b64decode(self.original)


def rejected_message(
    raw: bytes,
    rejection: Rejection,
    *,
    topic: str | None,
    partition: int | None,
    offset: int | None,
    service: str,
    now: datetime,
) -> RejectedMessage:
    """Build the rejected message for `raw`, refused for `rejection`, received at the given coordinates.

    The digest covers every byte so that a truncated original can still be matched with its source.
    """
    return RejectedMessage(
        reason=rejection.reason,
        detail=rejection.detail,
        original=base64.b64encode(raw[:MAX_MESSAGE_BYTES]).decode("ascii"),
        original_sha256=hashlib.sha256(raw).hexdigest(),
        topic=topic,
        partition=partition,
        offset=offset,
        service=service,
        rejected_at=now,
    )
