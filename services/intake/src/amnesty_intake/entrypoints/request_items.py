"""The submissions of an HTTP request's array, each as the exact bytes its sender wrote.

An item is judged as a message from Kafka is: on its own bytes, so that its rejection keeps the
sender's original and its digest, and so that a flaw inside one item (a NaN, a repeated key, an
invalid UTF-8 byte, nesting too deep) rejects that item and not the request. Parsing the whole array
first and writing each item out again did neither: one bad item made the whole body a single
rejected message (its valid items answered by nothing, kept nowhere), and an item the parser
accepted was judged on bytes its sender never sent (``1e400`` written back as ``Infinity``).

Only the array's own structure is read here: its brackets and the commas between its items, outside
strings. Everything inside an item is left to the submission parser.
"""

from __future__ import annotations

import re
from typing import Final

_WHITESPACE: Final = b" \t\n\r"

# A whole string (its escapes included, whatever it holds), a quote that opens a string never closed,
# or a bracket, a brace or a comma. Whole strings are matched only to be skipped: brackets and commas
# inside them are text. The repeat is possessive: a plain one keeps backtracking state for every
# character of a string (about 150 bytes each: 600 MB for a 4 MiB body of one string).
_STRUCTURE: Final = re.compile(rb'"(?:[^"\\]|\\.)*+"|"|[\[\]{},]', re.DOTALL)


class TooManyItemsError(Exception):
    """The array holds more items than a request may carry."""


def array_items(body: bytes, max_items: int) -> list[bytes] | None:
    """The exact bytes of each item of ``body``'s top-level JSON array, whitespace around them
    stripped; None when the body is not an array, or its array is broken (an item missing between
    commas, a bracket not closed, text after the array): then the body is judged as one message.

    Raises ``TooManyItemsError`` as soon as the array is found to hold more than ``max_items``.
    """
    start = len(body) - len(body.lstrip(_WHITESPACE))
    if not body.startswith(b"[", start):
        return None
    bounds = _item_bounds(body, start + 1, max_items)
    if bounds is None:
        return None
    items = [body[begin:end].strip(_WHITESPACE) for begin, end in bounds]
    if items == [b""]:
        return []  # "[]"
    return items if all(items) else None  # "[1,,2]", "[1,]"


def _item_bounds(body: bytes, item_from: int, max_items: int) -> list[tuple[int, int]] | None:
    """Where each item lies, between the commas of the array's own depth and its closing bracket."""
    bounds: list[tuple[int, int]] = []
    depth = 0
    for token in _STRUCTURE.finditer(body, item_from):
        mark = token.group()
        if mark == b'"':  # a string never closed: the array cannot be
            return None
        if mark[0] == 0x22:  # a string
            continue
        if mark in (b"[", b"{"):
            depth += 1
        elif depth:
            depth -= mark != b","  # a closing mark ends a nested value; a comma inside one is text
        else:
            bounds.append((item_from, token.start()))
            if len(bounds) > max_items:
                raise TooManyItemsError
            if mark != b",":  # the array's closing mark: nothing may follow it
                closed = mark == b"]" and not body[token.end() :].strip(_WHITESPACE)
                return bounds if closed else None
            item_from = token.end()
    return None  # the array is never closed
