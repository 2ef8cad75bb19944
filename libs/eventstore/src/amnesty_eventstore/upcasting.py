"""Old event versions upgraded on read, one version step at a time; stored events are never rewritten."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amnesty_eventstore.errors import UpcastError

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Takes a payload of version v and returns the payload of version v + 1."""


class Upcasters:
    """A registry of upcasters by (event type, the version they upgrade from).

    A type's current version is one past its highest registered step; reading applies the steps from
    the stored version up to it, so every step in between must be registered.
    """

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}
        self._current: dict[str, int] = {}

    def register(self, event_type: str, from_version: int, upcaster: Upcaster) -> None:
        """Register the step from ``from_version`` to ``from_version + 1`` of ``event_type``."""
        if from_version < 1:
            raise ValueError(f"schema versions start at 1, got {from_version}")
        if (event_type, from_version) in self._steps:
            raise ValueError(f"an upcaster of {event_type} v{from_version} is already registered")
        self._steps[event_type, from_version] = upcaster
        self._current[event_type] = max(self._current.get(event_type, 1), from_version + 1)

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator form of :meth:`register`."""

        def decorate(upcaster: Upcaster) -> Upcaster:
            self.register(event_type, from_version, upcaster)
            return upcaster

        return decorate

    def __bool__(self) -> bool:
        return bool(self._steps)

    def current_version(self, event_type: str) -> int | None:
        """The version reads of ``event_type`` produce, or None when the type has no upcasters."""
        return self._current.get(event_type)

    def needs_upcast(self, event_type: str, version: int) -> bool:
        """Whether a stored event of this type and version is older than current (the cheap check)."""
        current = self._current.get(event_type)
        return current is not None and version < current

    def upcast(self, event_type: str, version: int, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The payload brought to the type's current version, with that version."""
        current = self._current.get(event_type)
        if current is None:
            return version, payload
        while version < current:
            step = self._steps.get((event_type, version))
            if step is None:
                raise UpcastError(
                    f"no upcaster of {event_type} from v{version}; current is v{current}, "
                    "register every step in between"
                )
            payload = step(payload)
            version += 1
        return version, payload
