"""The local broker's optional PROXIED listener (for a test's TCP proxy) authenticates like the main one."""

from __future__ import annotations

from pathlib import Path

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.kafka import LocalKafka
from amnesty_runtime.stack.processes import ProcessTable


def _properties(settings: InfraSettings) -> dict[str, str]:
    kafka = LocalKafka(settings, ProcessTable(settings.local / "stack.json"))
    kafka.write_config("admin-password")
    lines = (settings.local / "kafka" / "server.properties").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_the_proxied_listener_speaks_scram_and_is_advertised_at_the_proxy(tmp_path: Path) -> None:
    properties = _properties(
        InfraSettings(local_dir=tmp_path, kafka_port=19500, kafka_proxied_port=19502, kafka_proxy_port=19503)
    )
    assert "PROXIED://127.0.0.1:19502" in properties["listeners"].split(",")
    assert "PROXIED://127.0.0.1:19503" in properties["advertised.listeners"].split(",")
    assert "PROXIED:SASL_PLAINTEXT" in properties["listener.security.protocol.map"].split(",")
    assert properties["listener.name.proxied.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    # No anonymous user on any listener: the proxied one has the same users and ACLs as the main one.
    assert properties["super.users"] == "User:admin"


def test_without_a_proxy_port_there_is_no_proxied_listener(tmp_path: Path) -> None:
    properties = _properties(InfraSettings(local_dir=tmp_path, kafka_port=19500))
    assert not [line for line in properties.items() if "PROXIED" in str(line).upper()]
