"""Provenance in a service: its signing key, the keys it trusts, and the check before its policy.

A consumer accepts a domain event only when its producer is proven (``amnesty_eventstore.signatures``):
``Verified`` wraps a service's policy so that an unsigned, wrongly signed or foreign event never reaches
it; such an event is dead-lettered to amnesty.rejected.v1 in the batch's transaction, with the reason
as its code, and counted — never applied, never a crash.

Keys come from files named in the service's settings (``signing_key_file``, ``verifying_key_files``);
a service without them refuses to start, so it never runs unsigned or trusting everyone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from amnesty_contracts import REJECTED, Rejection, RejectionReason, rejected_message
from amnesty_eventstore.connections import DbConnection
from amnesty_eventstore.consumption import Delivery
from amnesty_eventstore.dead_letters import DeadLetter, dead_letter_in
from amnesty_eventstore.signatures import Signer, SigningKey, Verifier
from amnesty_runtime.metrics import EVENTS_UNVERIFIED
from amnesty_runtime.policy import INVALID, Apply, BatchReport, Policy
from amnesty_runtime.settings import ServiceSettings

TRUSTED_PRODUCERS: Final[Mapping[str, tuple[str, ...]]] = {
    "intake": (),
    "eligibility": ("intake",),
    "statistics": ("intake", "eligibility"),
}
"""Whose events each service consumes (docs/contract.md, Topics): the only keys it is given."""

_DETAILS: Final = {
    RejectionReason.UNSIGNED: "provenance: the event carries no signature headers",
    RejectionReason.UNKNOWN_KEY: "provenance: signed with a key this consumer does not trust",
    RejectionReason.BAD_SIGNATURE: "provenance: the signature does not match the record",
    RejectionReason.PRODUCER_NOT_ALLOWED: "provenance: the producer does not publish to this topic",
}


class MissingKeyError(RuntimeError):
    """A service was started without the keys it must have; it refuses to start."""


def read_key(path: Path, producer: str) -> SigningKey:
    """The key in ``path``: hex of at least 32 bytes (as the local stack writes it)."""
    try:
        return SigningKey(producer, bytes.fromhex(path.read_text().strip()))
    except FileNotFoundError as exc:
        raise MissingKeyError(f"the signing key file of {producer} is missing: {path}") from exc
    except ValueError as exc:
        raise MissingKeyError(f"the signing key file of {producer} is not 32+ bytes of hex: {path}") from exc


def signer_of(service: str, settings: ServiceSettings) -> Signer:
    """The service's signer, from AMNESTY_<SERVICE>_SIGNING_KEY_FILE."""
    if settings.signing_key_file is None:
        raise MissingKeyError(
            f"{service} refuses to start without its event-signing key "
            f"(AMNESTY_{service.upper()}_SIGNING_KEY_FILE)"
        )
    return Signer(read_key(settings.signing_key_file, service))


def verifier_of(service: str, settings: ServiceSettings, producers: Mapping[str, str]) -> Verifier:
    """What the service trusts, from AMNESTY_<SERVICE>_VERIFYING_KEY_FILES; ``producers``: topic → the
    one producer whose events the service accepts there. Every producer needs at least one key."""
    keys = []
    for producer in sorted(set(producers.values())):
        files = settings.verifying_key_files.get(producer, [])
        if not files:
            raise MissingKeyError(
                f"{service} refuses to start without a verifying key of {producer} "
                f"(AMNESTY_{service.upper()}_VERIFYING_KEY_FILES, e.g. "
                f'{{"{producer}": ["/run/secrets/signing-{producer}.key"]}})'
            )
        keys += [read_key(path, producer) for path in files]
    return Verifier(keys, producers)


@dataclass(frozen=True, slots=True)
class Verified:
    """A policy that sees only events of proven provenance; the others are dead-lettered here."""

    policy: Policy
    verifier: Verifier
    schema: str
    rejected_topic: str = REJECTED

    @property
    def service(self) -> str:
        return self.policy.service

    def forget(self) -> None:
        self.policy.forget()

    def prepare(self, deliveries: Sequence[Delivery]) -> Apply:
        """Verify the batch; prepare the genuine part with the policy."""
        refused = {
            d: reason
            for d in deliveries
            if (reason := self.verifier.check(d.topic, d.key, d.value, d.headers)) is not None
        }
        # Nearly every batch is all genuine: then no delivery is hashed (a frozen dataclass hashes all
        # its fields, the value's bytes too).
        genuine = [d for d in deliveries if d not in refused] if refused else deliveries
        apply_genuine = self.policy.prepare(genuine) if genuine else None

        async def apply(conn: DbConnection, to_apply: Sequence[Delivery]) -> BatchReport:
            kept = [d for d in to_apply if d not in refused] if refused else to_apply
            report = await apply_genuine(conn, kept) if apply_genuine is not None and kept else None
            forged = [(d, refused[d]) for d in to_apply if d in refused] if refused else []
            if not forged:
                return report or BatchReport(types=())
            await dead_letter_in(conn, self.schema, self.rejected_topic, self._dead_letters(forged))
            return _merged(to_apply, refused, report, self.service)

        return apply

    def _dead_letters(self, forged: Sequence[tuple[Delivery, RejectionReason]]) -> list[DeadLetter]:
        now = datetime.now(UTC)
        return [
            DeadLetter.of(
                d.key,
                rejected_message(
                    d.value,
                    Rejection(reason, _DETAILS[reason]),
                    topic=d.topic,
                    partition=d.partition,
                    offset=d.offset,
                    service=self.service,
                    now=now,
                ),
            )
            for d, reason in forged
        ]


def _merged(
    to_apply: Sequence[Delivery],
    refused: Mapping[Delivery, RejectionReason],
    report: BatchReport | None,
    service: str,
) -> BatchReport:
    """The batch's report in delivery order: the policy's for the genuine, ``invalid`` for the refused.

    The provenance metric is counted with the batch's other figures, once it has committed.
    """
    types = iter(report.types if report is not None else ())
    reasons = [refused[d] for d in to_apply if d in refused]
    after = report.after_commit if report is not None else None

    def after_commit() -> None:
        for d in to_apply:
            if d in refused:
                EVENTS_UNVERIFIED.labels(service, d.topic, str(refused[d])).inc()
        if after is not None:
            after()

    return BatchReport(
        types=[INVALID if d in refused else next(types) for d in to_apply],
        rejected=[*(report.rejected if report is not None else ()), *map(str, reasons)],
        after_commit=after_commit,
    )
