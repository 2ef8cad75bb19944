"""Kafka client options: one place decides how a client connects, from the environment or the stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faststream.security import SASLScram512

from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.endpoints import resolve
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.kafka_credentials import KafkaCredentials
from amnesty_runtime.stack.principals import PRINCIPALS

AIOKAFKA_KEYS = {
    "bootstrap_servers",
    "security_protocol",
    "sasl_mechanism",
    "sasl_plain_username",
    "sasl_plain_password",
}


def test_an_external_broker_without_credentials_is_plaintext_as_before(tmp_path: Path) -> None:
    endpoints = resolve(InfraSettings(kafka_bootstrap_servers="kafka:9092", local_dir=tmp_path))
    options = endpoints.kafka_client_options("intake")
    assert options.aiokafka() == {"bootstrap_servers": "kafka:9092", "security_protocol": "PLAINTEXT"}
    assert options.faststream_security() is None
    assert not tmp_path.joinpath("secrets").exists()


def test_the_environment_names_the_principal_and_its_password_file(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    settings = InfraSettings(
        kafka_bootstrap_servers="kafka:9092",
        kafka_sasl_username="eligibility",
        kafka_sasl_password_file=password,
        local_dir=tmp_path,
    )
    options = resolve(settings).kafka_client_options("eligibility")
    assert options.aiokafka() == {
        "bootstrap_servers": "kafka:9092",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "eligibility",
        "sasl_plain_password": "s3cret",
    }
    security = options.faststream_security()
    assert isinstance(security, SASLScram512)
    assert (security.username, security.password, security.use_ssl) == ("eligibility", "s3cret", False)
    assert "s3cret" not in repr(options)


def test_sasl_ssl_verifies_the_broker_with_the_given_ca(tmp_path: Path) -> None:
    options = KafkaClientOptions("kafka:9093", "SASL_SSL", username="upstream", password="pw")
    assert options.aiokafka()["ssl_context"] is not None
    security = options.faststream_security()
    assert security is not None
    assert security.use_ssl


def test_sasl_without_a_password_is_refused() -> None:
    with pytest.raises(ValueError, match="password"):
        KafkaClientOptions("kafka:9092", "SASL_PLAINTEXT", username="intake")


def test_the_local_stack_writes_one_owner_only_file_per_principal(tmp_path: Path) -> None:
    credentials = KafkaCredentials(tmp_path / "secrets")
    credentials.write("127.0.0.1:19092", credentials.passwords())
    assert oct((tmp_path / "secrets").stat().st_mode & 0o777) == "0o700"
    for principal in PRINCIPALS:
        path = credentials.path(principal)
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        document = json.loads(path.read_text())
        assert document.keys() == AIOKAFKA_KEYS
        assert document["sasl_plain_username"] == principal
    # Passwords are kept; the address follows the settings.
    before = credentials.passwords()
    credentials.write("127.0.0.1:29092", before)
    assert credentials.passwords() == before
    assert credentials.options("upstream").bootstrap_servers == "127.0.0.1:29092"


def test_a_local_client_before_stack_up_is_told_what_to_do(tmp_path: Path) -> None:
    endpoints = resolve(InfraSettings(kafka_bootstrap_servers=None, local_dir=tmp_path))
    with pytest.raises(StackError, match="amnesty stack up"):
        endpoints.kafka_client_options("operator")


def test_options_survive_the_environment_of_a_child_process(monkeypatch: pytest.MonkeyPatch) -> None:
    options = KafkaClientOptions("kafka:9092", "SASL_PLAINTEXT", username="admin", password="pw")
    for name, value in options.environment().items():
        monkeypatch.setenv(name, value)
    settings = InfraSettings()
    assert settings.kafka_client_options(settings.kafka_bootstrap_servers or "") == options
