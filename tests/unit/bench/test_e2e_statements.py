"""bench_e2e's table of PostgreSQL's time by statement."""

from __future__ import annotations

import re

from tests.bench.bench_e2e import Statement, Statements, statement_label, statements_table


def _cells(row: str) -> list[str]:
    """A markdown table row's cells: split at the pipes that are not escaped."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_a_label_is_the_statement_on_one_line_cut_at_seventy_characters() -> None:
    query = "SELECT person,\n       state\n  FROM statistics_x.persons_v1\n WHERE person = ANY ($1::text[])"
    label = statement_label(query + " AND state IS NOT NULL AND other_column = $2 ORDER BY person")
    assert label.startswith("`SELECT person, state FROM statistics_x.persons_v1 WHERE person = ANY")
    assert len(label) == 2 + 70
    assert label.endswith("…`")
    assert statement_label("SELECT 1") == "`SELECT 1`"


def test_a_statement_with_pipes_stays_in_its_cell() -> None:
    statements = Statements([Statement("SELECT $1 || $2 FROM t", 3, 1500.0, 3, 0)], 1, 1500.0, None)
    row = statements_table(statements)[-1]
    assert _cells(row) == ["`SELECT $1 \\|\\| $2 FROM t`", "", "3", "1.50", "3", "0.0"]


def test_the_table_gives_each_statements_schema_seconds_megabytes_and_the_servers_wal() -> None:
    statements = Statements(
        [
            Statement('SELECT outcome FROM "intake_1a2b".append($1)', 12_345, 9_876.5, 12_345, 250_000_000),
            Statement('UPDATE "statistics_3c4d"."persons_v1" SET state = $1', 500, 120.0, 500, 1_500_000),
        ],
        40,
        12_000.0,
        812_000_000,
    )
    lines = statements_table(statements)
    assert "The 2 of 40 statements" in lines[2]
    assert "of 12.0 s in all" in lines[2]
    assert "wrote 812 MB of WAL" in lines[2]
    assert [_cells(row)[1:] for row in lines[-2:]] == [
        ["intake_1a2b", "12,345", "9.88", "12,345", "250.0"],
        ["statistics_3c4d", "500", "0.12", "500", "1.5"],
    ]


def test_without_pg_stat_wal_the_table_says_so() -> None:
    lines = statements_table(Statements([], 0, 0.0, None))
    assert "pg_stat_wal: none on this server" in lines[2]
