"""Who may submit as which source: each upstream system's bearer token is bound to its `source`.

With one token for every upstream, `source` was whatever the sender claimed, so any upstream could
submit (or contradict a submission) in another's name. Each source now has its own token; a sender may
submit only as the source its token names. An operator token (for the contract tester and redrive
tools) may submit as any source.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sender:
    """The holder of a valid token: the one source it may submit as, or any (``source`` None)."""

    source: str | None

    def may_submit_as(self, source: object) -> bool:
        """Whether this sender may send a submission naming ``source`` (a non-string is left to the
        submission's own validation, which rejects it)."""
        return self.source is None or not isinstance(source, str) or source == self.source

    @property
    def name(self) -> str:
        return self.source or "operator"


class SourceTokens:
    """The tokens intake accepts, each bound to its source (or to any, for an operator token)."""

    def __init__(self, per_source: Mapping[str, str], operator: str | None = None) -> None:
        if not per_source and operator is None:
            raise ValueError("at least one token is needed")
        tokens = [(token, Sender(source)) for source, token in per_source.items()]
        if operator is not None:
            tokens.append((operator, Sender(None)))
        if len({token for token, _ in tokens}) != len(tokens):
            raise ValueError("two sources share a token: a token must name one sender")
        self._tokens = [(token.encode(), sender) for token, sender in tokens]

    def sender(self, token: str) -> Sender | None:
        """The sender ``token`` belongs to, or None. Compares with every token in constant time."""
        given = token.encode()
        found = None
        for known, sender in self._tokens:
            if hmac.compare_digest(given, known):
                found = sender
        return found

    @property
    def sources(self) -> Iterable[str]:
        return [s.source for _, s in self._tokens if s.source is not None]
