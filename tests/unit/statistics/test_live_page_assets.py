"""The live page's assets: the vendored chart library is the one the lockfile pins, and the page
refers only to files the package serves itself (nothing from another site at run time)."""

from __future__ import annotations

import hashlib
import json
import re
from importlib.resources import files
from pathlib import Path

from amnesty_contracts import REGION_NAMES
from amnesty_statistics.domain.official_figures import OFFICIAL_RETURNS
from amnesty_statistics.entrypoints.live_page import STATIC_PATH, render_page

WEB = Path(__file__).parents[3] / "services" / "statistics" / "web"
STATIC = files("amnesty_statistics") / "static"


def _lock() -> dict[str, dict[str, str]]:
    packages: dict[str, dict[str, str]] = json.loads((WEB / "package-lock.json").read_text())["packages"]
    return packages


def test_the_chart_library_is_pinned_exactly() -> None:
    declared = json.loads((WEB / "package.json").read_text())["dependencies"]
    assert declared == {"chart.js": _lock()["node_modules/chart.js"]["version"]}


def test_the_vendored_chart_library_is_the_locked_version_as_built() -> None:
    manifest = json.loads(STATIC.joinpath("vendor", "vendor.json").read_text())
    bundle = STATIC.joinpath("vendor", "chart.umd.min.js").read_bytes()
    for name in ("chart.js", "@kurkle/color"):
        locked = _lock()[f"node_modules/{name}"]
        assert (manifest[name]["version"], manifest[name]["integrity"]) == (
            locked["version"],
            locked["integrity"],
        ), f"{name}: run `make live-page-assets` after changing package-lock.json"
    assert hashlib.sha256(bundle).hexdigest() == manifest["chart.js"]["sha256"], "edited by hand?"
    assert bundle.startswith(b"/*!\n * Chart.js v" + manifest["chart.js"]["version"].encode() + b"\n")
    licences = STATIC.joinpath("vendor", "LICENSES.txt").read_text()
    assert licences.count("The MIT License") == 2


def test_the_page_offers_every_region_and_carries_the_official_figures() -> None:
    page = render_page(REGION_NAMES.items(), OFFICIAL_RETURNS)
    region_select = page[page.index('<select id="region"') : page.index("</select>")]
    options = re.findall(r'<option value="([^"]+)">', region_select)
    assert sorted(options) == sorted([*REGION_NAMES, "unknown"])
    reference = re.search(r'<script type="application/json" id="official-returns">(.*?)</script>', page)
    assert reference is not None
    assert json.loads(reference.group(1)) == [o.as_json() for o in OFFICIAL_RETURNS]


def test_the_page_loads_nothing_from_another_site() -> None:
    page = render_page(REGION_NAMES.items(), OFFICIAL_RETURNS)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources, "the page has its script and stylesheet"
    for source in sources:
        assert source.startswith(f"{STATIC_PATH}/") or source == "data:,", source
        if source.startswith(STATIC_PATH):
            assert STATIC.joinpath(source.removeprefix(f"{STATIC_PATH}/")).is_file(), source
    script = STATIC.joinpath("live.js").read_text()
    assert "http://" not in script
    assert "https://" not in script
