"""The example messages of `examples/`: what each is, where it lies, and what it is expected to get.

Layout: `examples/<topic>/<valid|invalid>/<name>.json`. An invalid example is named
`<reason>--<what is wrong>.json`, `<reason>` being the `reason` of the rejection it must get; the table
in `examples/README.md` says the same for readers (and a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

EXAMPLES: Final = Path(__file__).resolve().parents[2] / "examples"
_REASON_SEPARATOR: Final = "--"


@dataclass(frozen=True, slots=True)
class Example:
    """One example message: its topic, whether it is valid, and its bytes exactly as a producer sends them."""

    topic: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def valid(self) -> bool:
        return self.path.parent.name == "valid"

    @property
    def expected_reason(self) -> str | None:
        """The rejection reason the example's name announces; None for a valid example."""
        return None if self.valid else self.name.split(_REASON_SEPARATOR, 1)[0]

    @property
    def raw(self) -> bytes:
        return self.path.read_bytes()

    @property
    def relative(self) -> str:
        """The path from `examples/`, as the README's table writes it."""
        return self.path.relative_to(EXAMPLES).as_posix()

    def __str__(self) -> str:
        return self.relative


def examples(topic: str, *, valid: bool | None = None) -> list[Example]:
    """The examples of `topic` (valid ones, invalid ones, or both), in name order."""
    folders = ["valid", "invalid"] if valid is None else ["valid" if valid else "invalid"]
    return [
        Example(topic, path)
        for folder in folders
        for path in sorted((EXAMPLES / topic / folder).glob("*.json"))
    ]


def all_examples() -> list[Example]:
    """Every example of every topic."""
    return [e for topic in sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()) for e in examples(topic)]
