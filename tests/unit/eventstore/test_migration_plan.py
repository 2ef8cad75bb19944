"""Which migrations to apply: new ones in order; applied files unchanged; nothing out of order."""

from __future__ import annotations

from pathlib import Path

import pytest

from amnesty_eventstore import EVENTSTORE_MIGRATIONS, Migration, MigrationChecksumError, MigrationOrderError
from amnesty_eventstore.migrations import AppliedMigration, MigrationSource, pending_migrations


def m(component: str, name: str, sql: str = "SELECT 1;") -> Migration:
    return Migration(component, name, sql)


def done(migration: Migration) -> AppliedMigration:
    return AppliedMigration(migration.component, migration.name, migration.checksum)


def test_new_migrations_are_pending_in_the_given_order() -> None:
    available = [m("eventstore", "0001_a.sql"), m("eventstore", "0002_b.sql"), m("intake", "0001_a.sql")]
    assert pending_migrations(available, []) == available
    assert pending_migrations(available, [done(available[0])]) == available[1:]
    assert pending_migrations(available, [done(x) for x in available]) == []


def test_a_changed_applied_file_is_refused() -> None:
    applied = m("intake", "0001_a.sql", "CREATE TABLE a (id int);")
    changed = m("intake", "0001_a.sql", "CREATE TABLE a (id bigint);")
    with pytest.raises(MigrationChecksumError, match=r"intake/0001_a\.sql changed"):
        pending_migrations([changed], [done(applied)])


def test_a_new_file_before_an_applied_one_of_its_component_is_refused() -> None:
    second = m("intake", "0002_b.sql")
    with pytest.raises(MigrationOrderError, match=r"sorts before the applied 0002_b\.sql"):
        pending_migrations([m("intake", "0001_a.sql"), second], [done(second)])
    # Another component's history does not constrain it.
    assert pending_migrations([m("eventstore", "0001_a.sql")], [done(second)]) == [
        m("eventstore", "0001_a.sql")
    ]


def test_an_applied_migration_no_longer_on_disk_is_ignored() -> None:
    gone = m("intake", "0001_gone.sql")
    assert pending_migrations([m("intake", "0002_b.sql")], [done(gone)]) == [m("intake", "0002_b.sql")]


def test_a_folder_source_reads_its_sql_files_in_name_order(tmp_path: Path) -> None:
    for name in ("0002_b.sql", "0001_a.sql", "notes.txt", "0010_c.sql"):
        (tmp_path / name).write_text(f"-- {name}\n")
    migrations = MigrationSource("intake", tmp_path).migrations()
    assert [x.name for x in migrations] == ["0001_a.sql", "0002_b.sql", "0010_c.sql"]
    assert migrations[0].sql == "-- 0001_a.sql\n"


def test_the_event_stores_migrations_ship_with_the_package() -> None:
    migrations = EVENTSTORE_MIGRATIONS.migrations()
    assert migrations[0].name == "0001_event_store.sql"
    assert "CREATE FUNCTION append_events" in migrations[0].sql
