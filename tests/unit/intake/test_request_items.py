"""An HTTP request's array split into its items' exact bytes: what each item is judged on."""

from __future__ import annotations

import json
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amnesty_intake.entrypoints.request_items import TooManyItemsError, array_items

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(json_values, max_size=6), st.sampled_from([(",", ":"), (", ", ": "), (" ,\n ", " : ")]))
def test_the_items_of_any_array_are_its_elements_as_written(
    elements: list[object], separators: tuple[str, str]
) -> None:
    body = ("\n " + json.dumps(elements, separators=separators, ensure_ascii=False) + " \n").encode()
    items = array_items(body, 1000)
    assert items == [json.dumps(e, separators=separators, ensure_ascii=False).encode() for e in elements]


def test_an_item_the_parser_refuses_is_cut_out_as_sent() -> None:
    body = b'[{"a": 1}, {"x": NaN}, {"k": 1, "k": 2}, {"big": 1e400}, "\xff", {"a": "],}[{\\""}]'
    assert array_items(body, 1000) == [
        b'{"a": 1}',
        b'{"x": NaN}',
        b'{"k": 1, "k": 2}',
        b'{"big": 1e400}',
        b'"\xff"',
        b'{"a": "],}[{\\""}',
    ]


@pytest.mark.parametrize(
    "body", [b"[1,]", b"[1,,2]", b"[,1]", b"[1, 2", b"[1] 2", b'["open]', b"[1}", b"[{]"]
)
def test_a_broken_array_is_judged_whole(body: bytes) -> None:
    assert array_items(body, 1000) is None


@pytest.mark.parametrize("body", [b'{"a": [1, 2]}', b"", b"  ", b"null", b"\xef\xbb\xbf[1]"])
def test_a_body_that_is_no_array_is_judged_whole(body: bytes) -> None:
    assert array_items(body, 1000) is None


def test_an_empty_array_has_no_items() -> None:
    assert array_items(b" [ ] ", 1000) == []


def test_too_many_items_are_refused_as_soon_as_counted() -> None:
    assert array_items(b"[1, 2, 3]", 3) == [b"1", b"2", b"3"]
    with pytest.raises(TooManyItemsError):
        array_items(b"[1, 2, 3, 4" + b", 5" * 1_000_000, 3)  # refused before the end, never closed


def test_a_long_string_costs_no_memory_to_skip() -> None:
    """A regular expression repeat that is not possessive kept backtracking state for every character
    of a string: 600 MB for a body of one 4 MiB string, which any holder of a token may send."""
    body = b'["' + b"a" * (4 * 1024 * 1024) + b'"]'
    tracemalloc.start()
    try:
        assert array_items(body, 1000) == [body[1:-1]]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024
