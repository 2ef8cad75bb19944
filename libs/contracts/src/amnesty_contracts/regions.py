"""The regions of Ukraine as ISO 3166-2:UA codes, with their English names."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, TypeGuard

RegionCode = Literal[
    "UA-05",
    "UA-07",
    "UA-09",
    "UA-12",
    "UA-14",
    "UA-18",
    "UA-21",
    "UA-23",
    "UA-26",
    "UA-30",
    "UA-32",
    "UA-35",
    "UA-40",
    "UA-43",
    "UA-46",
    "UA-48",
    "UA-51",
    "UA-53",
    "UA-56",
    "UA-59",
    "UA-61",
    "UA-63",
    "UA-65",
    "UA-68",
    "UA-71",
    "UA-74",
    "UA-77",
]

# Ordered by code, as ISO lists them; a test keeps this table and `RegionCode` in step.
REGION_NAMES: Final[Mapping[RegionCode, str]] = MappingProxyType(
    {
        "UA-05": "Vinnytsia Oblast",
        "UA-07": "Volyn Oblast",
        "UA-09": "Luhansk Oblast",
        "UA-12": "Dnipropetrovsk Oblast",
        "UA-14": "Donetsk Oblast",
        "UA-18": "Zhytomyr Oblast",
        "UA-21": "Zakarpattia Oblast",
        "UA-23": "Zaporizhzhia Oblast",
        "UA-26": "Ivano-Frankivsk Oblast",
        "UA-30": "Kyiv",
        "UA-32": "Kyiv Oblast",
        "UA-35": "Kirovohrad Oblast",
        "UA-40": "Sevastopol",
        "UA-43": "Autonomous Republic of Crimea",
        "UA-46": "Lviv Oblast",
        "UA-48": "Mykolaiv Oblast",
        "UA-51": "Odesa Oblast",
        "UA-53": "Poltava Oblast",
        "UA-56": "Rivne Oblast",
        "UA-59": "Sumy Oblast",
        "UA-61": "Ternopil Oblast",
        "UA-63": "Kharkiv Oblast",
        "UA-65": "Kherson Oblast",
        "UA-68": "Khmelnytskyi Oblast",
        "UA-71": "Cherkasy Oblast",
        "UA-74": "Chernihiv Oblast",
        "UA-77": "Chernivtsi Oblast",
    }
)


def is_region_code(value: str) -> TypeGuard[RegionCode]:
    """Tell whether `value` is one of the 27 ISO 3166-2:UA codes (the statistics API filters by it)."""
    return value in REGION_NAMES
