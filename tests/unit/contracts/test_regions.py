from __future__ import annotations

from typing import get_args

import pytest

from amnesty_contracts import REGION_NAMES, RegionCode, is_region_code


def test_the_27_iso_codes_of_ukraine_have_names() -> None:
    assert len(REGION_NAMES) == 27
    assert tuple(REGION_NAMES) == get_args(RegionCode)
    assert list(REGION_NAMES) == sorted(REGION_NAMES)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("UA-30", "Kyiv"),
        ("UA-32", "Kyiv Oblast"),
        ("UA-40", "Sevastopol"),
        ("UA-43", "Autonomous Republic of Crimea"),
        ("UA-48", "Mykolaiv Oblast"),
        ("UA-77", "Chernivtsi Oblast"),
    ],
)
def test_region_names(code: RegionCode, name: str) -> None:
    assert REGION_NAMES[code] == name


@pytest.mark.parametrize(
    ("value", "expected"), [("UA-05", True), ("UA-99", False), ("ua-05", False), ("UA-5", False), ("", False)]
)
def test_is_region_code(value: str, expected: bool) -> None:
    assert is_region_code(value) is expected
