"""Apache Kafka 4.x in KRaft combined mode, from Maven Central jars, on 127.0.0.1, data under .local/kafka.

Clients authenticate with SASL/SCRAM-SHA-512 and are authorized by ACLs (StandardAuthorizer, deny what
no ACL allows); the admin principal is the only super user. Its SCRAM credential is written into the
cluster's metadata when the storage is formatted (a broker can only authenticate users it knows); the
controller listener, which SCRAM cannot protect in KRaft (its credentials live in the very metadata the
controller serves), uses SASL/PLAIN with the admin's password from this broker's owner-only config.

As root the broker runs under its own system user (like PostgreSQL), which owns .local/kafka; either
way the tree is owner-only, and the broker starts with umask 077 so its segments are created 0600.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.java import find_java
from amnesty_runtime.stack.owner_only import OWNER_ONLY_UMASK, open_owner_only, tighten
from amnesty_runtime.stack.ports import LOOPBACK, require_free
from amnesty_runtime.stack.principals import ADMIN
from amnesty_runtime.stack.processes import ProcessRecord, ProcessTable
from amnesty_runtime.stack.system_users import KAFKA_USER, SystemUser, open_path_to, server_user

NAME = "kafka"

_LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


_SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule required"
_PLAIN_LOGIN = "org.apache.kafka.common.security.plain.PlainLoginModule required"


class LocalKafka:
    """Resolve the broker's jars, format its storage once, start and stop it."""

    def __init__(self, settings: InfraSettings, table: ProcessTable) -> None:
        self._settings = settings
        self._table = table
        self._root = settings.local / "kafka"
        self.libs = self._root / "libs"
        self.data = self._root / "data"
        self.log = self._root / "server.log"
        self._stdout = self._root / "stdout.log"
        self._config = self._root / "server.properties"
        self._log4j = self._root / "log4j2.properties"

    @property
    def bootstrap_servers(self) -> str:
        return f"{LOOPBACK}:{self._settings.kafka_port}"

    def running(self) -> ProcessRecord | None:
        record = self._table.get(NAME)
        return record if record is not None and record.alive() else None

    @property
    def _scram_marker(self) -> Path:
        return self._root / "scram-ready"

    def needs_scram_upgrade(self) -> bool:
        """Storage formatted before the broker required SCRAM: its metadata knows no admin user yet."""
        meta = self.data / "meta.properties"
        if not meta.exists():
            return False
        return not self._scram_marker.exists() or self._scram_marker.read_text() != meta.read_text()

    def mark_scram_ready(self) -> None:
        self._scram_marker.write_text((self.data / "meta.properties").read_text())

    def start(self, admin_password: str, upgrade_port: int | None = None) -> ProcessRecord:
        """Start the broker process (readiness is checked separately, over the Kafka protocol).

        With ``upgrade_port``, the broker also listens there with PLAINTEXT for an anonymous super user:
        only while `stack up` gives an old, pre-SCRAM storage its users, then it is restarted without."""
        record = self.running()
        if record is not None:
            tighten(self._root, server_user(KAFKA_USER))  # what an earlier version left readable
            return record
        for port, setting in (
            (self._settings.kafka_port, "AMNESTY_KAFKA_PORT"),
            (self._settings.kafka_controller_port, "AMNESTY_KAFKA_CONTROLLER_PORT"),
            (self._settings.kafka_proxied_port, "AMNESTY_KAFKA_PROXIED_PORT"),
        ):
            if port is not None:
                require_free(port, "Kafka", setting)
        java = find_java()
        self.resolve_jars()
        self.write_config(admin_password, upgrade_port)
        if self.format_storage(java, admin_password):
            self.mark_scram_ready()
        user = server_user(KAFKA_USER)
        if user is not None:
            open_path_to(self._root)
        tighten(self._root, user)
        with open(open_owner_only(self._stdout, user), "ab") as out:
            proc = subprocess.Popen(
                [
                    str(java),
                    f"-Xmx{self._settings.kafka_heap}",
                    "-Xms256m",
                    "-XX:+UseG1GC",
                    "-XX:MaxGCPauseMillis=20",
                    "-Djava.awt.headless=true",
                    # IPv4 sockets, so the listeners are exactly 127.0.0.1 and not IPv4-mapped IPv6 ones.
                    "-Djava.net.preferIPv4Stack=true",
                    f"-Dlog4j2.configurationFile={self._log4j}",
                    "-cp",
                    f"{self.libs}/*",
                    "kafka.Kafka",
                    str(self._config),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self._root,
                start_new_session=True,
                umask=OWNER_ONLY_UMASK,
                **_run_as(user),
            )
        record = ProcessRecord.of(NAME, proc.pid)
        self._table.put(record)
        return record

    def stop(self) -> None:
        """Controlled shutdown (SIGTERM) of the broker this stack started, and nothing else."""
        record = self._table.get(NAME)
        if record is not None:
            record.stop()
            self._table.remove(NAME)

    def log_tail(self, chars: int = 3000) -> str:
        texts = [p.read_text(errors="replace")[-chars:] for p in (self._stdout, self.log) if p.exists()]
        return "\n".join(texts)

    def resolve_jars(self) -> None:
        """Copy kafka_2.13 and its runtime dependencies from Maven Central, once per version of the pom."""
        pom = self._settings.kafka_pom
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        marker = self.libs / ".resolved"
        if marker.exists() and marker.read_text().strip() == digest:
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise StackError(
                "Resolving the Kafka jars needs Maven: apt-get install maven (or run `make install`)."
            )
        if self.libs.exists():
            shutil.rmtree(self.libs)
        result = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={self.libs}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        if result.returncode != 0:
            raise StackError(
                f"Maven could not resolve the Kafka jars:\n{result.stdout[-3000:]}{result.stderr[-2000:]}"
            )
        marker.write_text(digest + "\n")

    def write_config(self, admin_password: str, upgrade_port: int | None = None) -> None:
        s = self._settings
        sasl = f"SASL_PLAINTEXT://{LOOPBACK}:{s.kafka_port}"
        advertised = sasl
        listeners = f"{sasl},CONTROLLER://{LOOPBACK}:{s.kafka_controller_port}"
        protocols = "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
        super_users = f"User:{ADMIN}"
        if s.kafka_proxied_port is not None and s.kafka_proxy_port is not None:
            # A second SCRAM listener advertised at a TCP proxy's port: clients reconnect to the address
            # the broker advertises, so a proxy given only as the bootstrap address would be bypassed.
            # Same users and ACLs as the main listener; only the path to it differs.
            listeners += f",PROXIED://{LOOPBACK}:{s.kafka_proxied_port}"
            advertised += f",PROXIED://{LOOPBACK}:{s.kafka_proxy_port}"
            protocols += ",PROXIED:SASL_PLAINTEXT"
        if upgrade_port is not None:
            upgrade = f"UPGRADE://{LOOPBACK}:{upgrade_port}"
            # Advertised too: a client's metadata names the brokers of the listener it came through.
            advertised += f",{upgrade}"
            listeners += f",{upgrade}"
            protocols += ",UPGRADE:PLAINTEXT"
            super_users += ";User:ANONYMOUS"
        scram = f'{_SCRAM_LOGIN} username="{ADMIN}" password="{admin_password}";'
        plain = (
            f'{_PLAIN_LOGIN} username="{ADMIN}" password="{admin_password}" user_{ADMIN}="{admin_password}";'
        )
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{LOOPBACK}:{s.kafka_controller_port}",
            "listeners": listeners,
            "advertised.listeners": advertised,
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "SASL_PLAINTEXT",
            "listener.security.protocol.map": protocols,
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": scram,
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": plain,
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": super_users,
            "log.dirs": str(self.data),
            "num.partitions": str(s.topic_partitions),
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "6",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # A single-member test group should not wait 3 s for others that never come.
            "group.initial.rebalance.delay.ms": "0",
            # Topics are created on purpose, with their partitions and retention; never by a typo.
            "auto.create.topics.enable": "false",
        }
        if "PROXIED" in listeners:
            properties |= {
                "listener.name.proxied.sasl.enabled.mechanisms": "SCRAM-SHA-512",
                "listener.name.proxied.scram-sha-512.sasl.jaas.config": scram,
            }
        self._root.mkdir(parents=True, exist_ok=True)
        # The config holds the admin's password: owner-only from the moment it exists.
        fd = os.open(self._config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("".join(f"{k}={v}\n" for k, v in properties.items()))
        self._config.chmod(0o600)
        self._log4j.write_text(_LOG4J2.format(log=self.log))

    def format_storage(self, java: Path, admin_password: str, cluster_id: str | None = None) -> bool:
        """Format the KRaft storage once, as a standalone controller of a new cluster whose metadata
        knows the admin's SCRAM credential; returns whether it formatted."""
        if (self.data / "meta.properties").exists():
            return False
        cluster_id = cluster_id or base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(
            [
                str(java),
                f"-Dlog4j2.configurationFile={self._log4j}",
                "-cp",
                f"{self.libs}/*",
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                # "=" form: a urlsafe-base64 id may start with "-", which argparse would take for an option.
                f"--cluster-id={cluster_id}",
                "--add-scram",
                f"SCRAM-SHA-512=[name={ADMIN},password={admin_password}]",
                "-c",
                str(self._config),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            raise StackError(f"Formatting Kafka storage failed:\n{result.stdout}{result.stderr}")
        return True


def _run_as(user: SystemUser | None) -> dict[str, Any]:
    # Only root may switch users; supplementary groups are dropped with root's.
    if user is None:
        return {}
    return {"user": user.uid, "group": user.gid, "extra_groups": []}
