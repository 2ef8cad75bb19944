"""The documentation stays true to the repository: its links resolve, nothing cites a file outside the
repository, the regimes table is the shipped rule set's, and the contract page names every code."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Final

import pytest

from amnesty_contracts import (
    ALL_TOPICS,
    CASE_EVENT_MODELS,
    DECISION_EVENT_MODELS,
    SUBMISSION_MODELS,
    DenialReason,
    PendingReason,
    RejectionReason,
)
from amnesty_eligibility.adapters.rule_files import load_packaged_rule_set
from amnesty_eligibility.settings import ACTIVE_RULE_SET

REPO: Final = Path(__file__).resolve().parents[2]
DOCS: Final = REPO / "docs"
# Folders that are not the project's own text: environments, caches, local data, installed packages.
SKIPPED: Final = {".git", ".venv", ".local", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
TEXT_SUFFIXES: Final = {".py", ".md", ".toml", ".yml", ".yaml", ".sql", ".json", ".html", ".js", ".txt"}
# Text files without a suffix: the build and CI scripts.
TEXT_NAMES: Final = frozenset({"Makefile", "Dockerfile", "run", ".dockerignore", ".gitignore"})
# A markdown link or image: [text](target) — the target up to a space (a title) or the closing parenthesis.
LINK: Final = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)[^)]*\)")
# The design documents once lived outside the repository; a citation of one by its bare name, or a path
# into a folder beside the checkout, points at nothing a reader of the repository has.
OUTSIDE: Final = re.compile(r"(?<![\w/.#-])(?:contract|domain|architecture|style)\.md\b|\bshared/|/work/")


def _project_files(suffixes: set[str], names: frozenset[str] = frozenset()) -> Iterator[Path]:
    """The project's own files: in a checkout, tracked or not yet added but never what git ignores (bench
    results, logs, the stack's data), which a developer's tree has and a clean clone has not; elsewhere
    (a container's staged tree, without git) every file but the tools' folders."""
    for relative in _listed_files():
        path = REPO / relative
        text = path.suffix in suffixes or path.name in names
        if SKIPPED.intersection(relative.parts) or not path.is_file() or not text:
            continue
        yield path


def _listed_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):  # no git, or not a checkout
        return sorted(path.relative_to(REPO) for path in REPO.rglob("*"))
    return sorted(Path(name) for name in listed.split("\0") if name)


def _markdown_files() -> list[Path]:
    return list(_project_files({".md"}))


def _slug(heading: str) -> str:
    # GitHub's anchors: lower case, punctuation dropped (backticks, dots, colons, arrows), spaces to hyphens.
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(markdown: Path) -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", markdown.read_text(), flags=re.MULTILINE)
    return {_slug(h) for h in headings}


def _links(markdown: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", markdown.read_text(), flags=re.DOTALL)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("markdown", _markdown_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves_inside_the_repository(markdown: Path) -> None:
    broken = []
    for target in _links(markdown):
        path_part, _, anchor = target.partition("#")
        resolved = (markdown.parent / path_part).resolve() if path_part else markdown
        outside = not resolved.is_relative_to(REPO) or not resolved.exists()
        if outside or (anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved)):
            broken.append(target)
    assert not broken


def test_the_documentation_pages_exist_and_the_readme_links_them() -> None:
    readme = (REPO / "README.md").read_text()
    for page in ("contract.md", "domain.md", "architecture.md", "operations.md", "producer-guide.md"):
        assert (DOCS / page).is_file(), page
        assert f"](docs/{page})" in readme, page
    assert "](examples/README.md)" in readme


def test_nothing_in_the_repository_cites_a_file_outside_it() -> None:
    citations = []
    for path in _project_files(TEXT_SUFFIXES, TEXT_NAMES):
        if path.parent == DOCS or path == Path(__file__).resolve():
            continue  # the pages link each other by their bare names, which resolve (checked above)
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if OUTSIDE.search(line):
                citations.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not citations


def test_the_outside_citation_pattern_finds_what_it_looks_for() -> None:
    assert OUTSIDE.search("The rules of domain.md §3")
    assert OUTSIDE.search('# contract.md: "partitions"')
    assert OUTSIDE.search("no shared/ beside this checkout")
    assert not OUTSIDE.search("The rules of docs/domain.md §3")


def _regime_rows() -> dict[str, list[str]]:
    text = (DOCS / "domain.md").read_text()
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|(.+)\|$", text, flags=re.MULTILINE)
    return {regime: [cell.strip() for cell in rest.split("|")] for regime, rest in rows}


def test_the_regimes_table_is_the_shipped_rule_set() -> None:
    rules = load_packaged_rule_set(ACTIVE_RULE_SET)
    rows = _regime_rows()
    documented = [r for r in rows if r in {regime.id for regime in rules.regimes}]
    assert documented == [regime.id for regime in rules.regimes], "every regime, in order of precedence"
    for regime in rules.regimes:
        _basis, absence_by, absence_date, returns_from, returns_until, _notes = rows[regime.id]

        def day(cell: str) -> date:
            return date.fromisoformat(cell.split(maxsplit=1)[0])

        assert day(absence_by) == regime.absence_by, regime.id
        assert absence_date.split(maxsplit=1)[0] == f"`{regime.absence_date.value}`", regime.id
        assert day(returns_from) == regime.returns_from, regime.id
        assert day(returns_until) == regime.returns_until, regime.id
    assert f"**`{rules.version}`**" in (DOCS / "domain.md").read_text()


def test_the_contract_page_names_every_topic_type_and_code() -> None:
    text = (DOCS / "contract.md").read_text()
    names = [
        *ALL_TOPICS,
        *SUBMISSION_MODELS,
        *CASE_EVENT_MODELS,
        *DECISION_EVENT_MODELS,
        *(r.value for r in RejectionReason),
        *(r.value for r in DenialReason),
        *(r.value for r in PendingReason),
    ]
    assert [n for n in names if f"`{n}`" not in text] == []
