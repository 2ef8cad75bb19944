"""Endpoints: given infrastructure wins; service roles get their own credentials on the same server."""

from __future__ import annotations

from pathlib import Path

import pytest

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.endpoints import resolve, with_credentials
from amnesty_runtime.stack.stack import _redacted


def test_with_credentials_keeps_server_and_database() -> None:
    url = with_credentials(
        "postgresql://admin:pw@db.example:5433/amnesty?sslmode=require", "intake", "s/cret"
    )
    assert url == "postgresql://intake:s%2Fcret@db.example:5433/amnesty?sslmode=require"


@pytest.mark.parametrize(
    "servers", ["[::1]:5432", "[2001:db8::7]", "h1:5432,h2:5433", "db.example", "%2Frun%2Fpostgresql"]
)
def test_the_servers_are_kept_as_written_whatever_their_form(servers: str) -> None:
    """urlsplit's hostname drops an IPv6 address's brackets (a URL no driver reads), and its port
    raised ValueError for the several hosts libpq and asyncpg take, failing every service's start."""
    given = f"postgresql://admin:pw@{servers}/amnesty"
    assert with_credentials(given, "intake", "pw2") == f"postgresql://intake:pw2@{servers}/amnesty"
    assert _redacted(given) == f"postgresql://admin:***@{servers}/amnesty"


def test_given_infrastructure_is_used_and_nothing_is_local(tmp_path: Path) -> None:
    settings = InfraSettings(
        database_url="postgresql://admin:pw@db:5432/amnesty",
        kafka_bootstrap_servers="k1:9092,k2:9092",
        local_dir=tmp_path,
        statistics_database_url="postgresql://stats:own@db:5432/amnesty",
    )
    endpoints = resolve(settings)
    assert (endpoints.local_kafka, endpoints.local_postgres) == (False, False)
    assert endpoints.admin_database_url == "postgresql://admin:pw@db:5432/amnesty"
    assert endpoints.kafka_bootstrap_servers == "k1:9092,k2:9092"
    assert endpoints.database_url("statistics") == "postgresql://stats:own@db:5432/amnesty"
    assert endpoints.database_url("intake").startswith("postgresql://intake:")


def test_local_defaults_point_at_loopback(tmp_path: Path) -> None:
    settings = InfraSettings(
        database_url=None, kafka_bootstrap_servers=None, local_dir=tmp_path, pg_port=6000, kafka_port=19092
    )
    endpoints = resolve(settings)
    assert endpoints.local_kafka
    assert endpoints.local_postgres
    assert "@127.0.0.1:6000/amnesty" in endpoints.admin_database_url
    assert endpoints.kafka_bootstrap_servers == "127.0.0.1:19092"
    secrets = tmp_path / "secrets"
    assert oct(secrets.stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in secrets.iterdir())


def test_a_service_given_its_own_url_writes_no_secret(tmp_path: Path) -> None:
    settings = InfraSettings(
        database_url=None,
        kafka_bootstrap_servers="kafka:9092",
        local_dir=tmp_path / "ro",
        intake_database_url="postgresql://intake:given@db:5432/amnesty",
    )
    assert resolve(settings).database_url("intake") == "postgresql://intake:given@db:5432/amnesty"
    assert not (tmp_path / "ro").exists()


def test_a_local_services_url_is_worked_out_without_the_superusers_password(tmp_path: Path) -> None:
    settings = InfraSettings(
        database_url=None, kafka_bootstrap_servers=None, local_dir=tmp_path, pg_port=6000
    )
    url = resolve(settings).database_url("eligibility")
    assert url.startswith("postgresql://eligibility:")
    assert url.endswith("@127.0.0.1:6000/amnesty")
    assert sorted(p.name for p in (tmp_path / "secrets").iterdir()) == ["db-eligibility.password"]
