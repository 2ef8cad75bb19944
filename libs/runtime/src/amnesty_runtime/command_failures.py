"""How a command says it failed: one red line, the error's text as it reads."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape


def print_failure(console: Console, what: str | None, exc: BaseException) -> None:
    """``what: message`` on ``console``. The message is escaped: it may quote log tails, paths and
    pydantic's ``[type=…]``, which rich would take for markup (dropped, or a MarkupError)."""
    text = escape(str(exc))
    console.print(
        f"[red]{what}:[/red] {text}" if what else f"[red]{text}[/red]", highlight=False, soft_wrap=True
    )
