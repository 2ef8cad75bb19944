"""AsyncAPI drift: the published contract is exactly what the models generate today.

The unit suite checks the same files; here the contract suite stands on its own, as `make contract`
and the compose contract container run it without the rest.
"""

from __future__ import annotations

from amnesty_contracts.schema_export import ASYNCAPI_FILE, REGENERATE, SCHEMA_DIR, rendered_files, stale_files


def test_the_committed_asyncapi_document_is_the_regenerated_one() -> None:
    committed = (SCHEMA_DIR / ASYNCAPI_FILE).read_text(encoding="utf-8")
    assert committed == rendered_files()[ASYNCAPI_FILE], (
        f"{ASYNCAPI_FILE} drifted; regenerate with: {REGENERATE}"
    )


def test_every_committed_message_schema_is_the_regenerated_one() -> None:
    assert stale_files(SCHEMA_DIR) == [], f"regenerate with: {REGENERATE}"
