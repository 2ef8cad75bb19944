"""Schema names are checked once and every statement names its tables with them."""

from __future__ import annotations

import pytest

from amnesty_eventstore.schemas import store_schema


def test_templates_get_schema_qualified_names() -> None:
    schema = store_schema("intake")
    assert schema.sql("SELECT * FROM {events} JOIN {outbox} USING (event_id)") == (
        'SELECT * FROM "intake"."events" JOIN "intake"."outbox" USING (event_id)'
    )
    assert schema.sql("SELECT '{}'::jsonb") == "SELECT '{}'::jsonb"  # not a placeholder


@pytest.mark.parametrize("name", ["Intake", "in-take", 'x"; DROP', "", "a" * 57, "1abc"])
def test_a_schema_name_that_is_not_a_plain_identifier_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="schema name"):
        store_schema(name)


def test_a_table_name_that_is_not_a_plain_identifier_is_refused() -> None:
    with pytest.raises(ValueError, match="not a lower-case identifier"):
        store_schema("intake").table('events"; --')
