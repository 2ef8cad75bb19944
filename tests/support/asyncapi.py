"""Following every `$ref` of a served AsyncAPI document, as a tool reading it from its URL would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin

Fetch = Callable[[str], Any]
"""Fetches a URL and returns its decoded JSON; raises when it cannot (a 404, say)."""


def references(value: Any) -> Iterator[str]:
    """Every `$ref` in a JSON value, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def _pointed(document: Any, fragment: str) -> bool:
    # A JSON Pointer (RFC 6901) inside the document; the empty fragment is the document itself.
    node = document
    for token in filter(None, fragment.lstrip("/").split("/")):
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return False
    return True


def unresolved_references(document_url: str, fetch: Fetch) -> list[str]:
    """The references reachable from the document at `document_url` that do not resolve, each as
    `<referring URL>: <$ref> (<why>)`; every document reached is fetched once, by its absolute URL."""
    documents: dict[str, Any] = {document_url: fetch(document_url)}
    failed: dict[str, str] = {}
    to_read = [document_url]

    def loaded(url: str) -> bool:
        if url not in documents and url not in failed:
            try:
                documents[url] = fetch(url)
                to_read.append(url)
            except Exception as error:  # each failure is reported, not raised
                failed[url] = str(error)
        return url in documents

    problems: list[str] = []
    while to_read:
        url = to_read.pop()
        for ref in references(documents[url]):
            target, fragment = urldefrag(urljoin(url, ref))
            if not loaded(target):
                problems.append(f"{url}: {ref} ({failed[target]})")
            elif not _pointed(documents[target], fragment):
                problems.append(f"{url}: {ref} (no #{fragment} in {target})")
    return problems
