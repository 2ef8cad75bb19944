"""Keyed pseudonyms: raw identifiers become HMAC-SHA256 digests under a secret key.

A plain hash would not do: a 10-digit tax number has only 10^10 values, hashed through in seconds.
Each kind of identifier gets its own domain label, so a person's pseudonym never equals a case's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

MINIMUM_KEY_BYTES = 32


class Pseudonymizer:
    """Turns raw identifiers and submission content into keyed digests; holds the key (keyed states) only."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MINIMUM_KEY_BYTES:
            raise ValueError(f"the pseudonym key must have at least {MINIMUM_KEY_BYTES} bytes")
        # One keyed state per label, taken in once: hmac.digest sets the key up again on every call (with
        # OpenSSL 3, looking the algorithm up too). Four or five pseudonyms per submission, each, best of
        # 30 rounds on the pipeline's machine: 2.5 µs one-shot against 1.6 µs from a copied state.
        self._labelled = {
            label: hmac.new(key, label + b"\x00", hashlib.sha256)
            for label in (b"person", b"case", b"submission", b"unit", b"content")
        }

    def person(self, person_id: str) -> str:
        """The person pseudonym: 43 URL-safe characters, also the Kafka key of the person's events."""
        return self._digest(b"person", person_id.encode())

    def case(self, case_number: str) -> str:
        return self._digest(b"case", case_number.encode())

    def submission_id(self, submission_id: str) -> str:
        """The pseudonym the events carry for a submission_id: a sender's record id may hold a name."""
        return self._digest(b"submission", submission_id.encode())

    def unit(self, unit: str) -> str:
        """The pseudonym the events carry for a unit: free text from the sender."""
        return self._digest(b"unit", unit.encode())

    def content(self, canonical: bytes) -> str:
        """A keyed digest of a submission's canonical content, to recognise a resend of the same content."""
        return self._digest(b"content", canonical)

    def _digest(self, label: bytes, value: bytes) -> str:
        mac = self._labelled[label].copy()
        mac.update(value)
        return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")
