"""A migration, once shipped, never changes: a database that applied it refuses to start when its text
differs (MigrationChecksumError). Each shipped file's digest is pinned here; a change goes in a new file.
Adding a migration means adding its line."""

from __future__ import annotations

from amnesty_eventstore.migrations import EVENTSTORE_MIGRATIONS
from amnesty_intake.entrypoint import MIGRATIONS as INTAKE_MIGRATIONS
from amnesty_statistics.adapters.read_model import MIGRATIONS as STATISTICS_MIGRATIONS

SHIPPED = {
    (
        "eventstore",
        "0001_event_store.sql",
    ): "892db5655d5454d0e12477330a0d9fc9f9342a0d1c8bf38a43a2edbf47c5abae",
    (
        "eventstore",
        "0002_consumption.sql",
    ): "7e74e73f24f33e684d982ad87c5d1b1471220573daed5352c7953c7a124f4523",
    (
        "eventstore",
        "0003_append_events_fast_path.sql",
    ): "de2565e01fa87f955ffff378ce1828a44caac68e6f93831ba49b0050a96a5157",
    (
        "eventstore",
        "0004_no_handled_messages.sql",
    ): "7fff43801f310274d0698614e4a1e9111f1e67cf930cade3407060c4e1dcab63",
    (
        "eventstore",
        "0005_relay_lease.sql",
    ): "4eb333e560f110f701e7619bffc2b6ef91a41deecb9fde132d610e43630f0097",
    (
        "eventstore",
        "0006_no_snapshots.sql",
    ): "f4d860d894aedb58be5a3d320a690e73fcf81374033e56ddd3e6248a46e6610a",
    (
        "eventstore",
        "0006_private_events_channel.sql",
    ): "62bf526bcf78a8c931ca8ca681559160a0fd3bd4792d107d6b6f00ee917956f7",
    (
        "eventstore",
        "0007_events_notify_planned_once.sql",
    ): "98b1341289890bd89c6d6509de1cc11312e37f19da544601182f7b1a7c658c07",
    (
        "eventstore",
        "0008_append_events_packed.sql",
    ): "420d7c61b8ac49cc9e223857d21781fb9a950a41f92fadb40a20170ed05c5f75",
    (
        "eventstore",
        "0009_append_events_over_packed.sql",
    ): "d92e4d935fcde955c9836ae178161c67d7fc1332f0a44062792d1fe04776a060",
    (
        "eventstore",
        "0010_append_events_new_streams.sql",
    ): "001e443c96d326226c159296282af00a926724b4c86b4739b8a52415a5caf068",
    (
        "eventstore",
        "0011_events_data_as_json.sql",
    ): "214e350eda168ce96797814d44803993f83e00bd66ebf807edfc727dd14aeceb",
    (
        "eventstore",
        "0012_outbox_parked.sql",
    ): "80137eaec783da429282b6bea8f0e571e19a594fddf958e9342f9692bae0a3d0",
    ("intake", "0001_submission_log.sql"): "926a4f63fc1792a2a22d4cc968e1fe353e403103bfded411bc16c5bac0d1d616",
    ("intake", "0002_redrive_log.sql"): "03ecd8a6cb6077f51007ce54820b76eff13d50994cc0bcfe48c4586677ba0266",
    (
        "statistics",
        "0001_read_models.sql",
    ): "c127079504d8a056e088fd707496719271f32de514d726d9c642b8a834ed5b34",
    (
        "statistics",
        "0002_drop_version_without_handled_ids.sql",
    ): "7d8977787a34b813a5729e557dcf60bdaae709d0c3d56639354fc5b78964472c",
    (
        "statistics",
        "0003_dashboard_views.sql",
    ): "927401ff670828a89ce24b80c696950cfe4a17a23b9191e4661cc2a30c1ca2cb",
    (
        "statistics",
        "0004_person_states_as_json.sql",
    ): "a2f73b662753f6bfe8f2f8cc5350a1aec37309e4f6ae83803dc23cbbc385606c",
}


def test_no_shipped_migration_has_changed_and_every_one_is_pinned() -> None:
    current = {
        (m.component, m.name): m.checksum
        for source in (EVENTSTORE_MIGRATIONS, INTAKE_MIGRATIONS, STATISTICS_MIGRATIONS)
        for m in source.migrations()
    }
    changed = sorted(key for key, digest in SHIPPED.items() if current.get(key, digest) != digest)
    assert changed == [], f"shipped migrations changed (put the change in a new file): {changed}"
    assert sorted(set(SHIPPED) - set(current)) == [], "a shipped migration is gone"
    assert sorted(set(current) - set(SHIPPED)) == [], "a new migration: pin its checksum here"
