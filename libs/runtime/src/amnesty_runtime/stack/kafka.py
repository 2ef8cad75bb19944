"""Apache Kafka 4.x in KRaft combined mode, from Maven Central jars, on 127.0.0.1, data under .local/kafka.

As root the broker runs under its own system user (like PostgreSQL), which owns .local/kafka; either
way the tree is owner-only, and the broker starts with umask 077 so its segments are created 0600.
"""

from __future__ import annotations

import base64
import hashlib
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

    def start(self) -> ProcessRecord:
        """Start the broker process (readiness is checked separately, over the Kafka protocol)."""
        record = self.running()
        if record is not None:
            tighten(self._root, server_user(KAFKA_USER))  # what an earlier version left readable
            return record
        for port, setting in (
            (self._settings.kafka_port, "AMNESTY_KAFKA_PORT"),
            (self._settings.kafka_controller_port, "AMNESTY_KAFKA_CONTROLLER_PORT"),
        ):
            require_free(port, "Kafka", setting)
        java = find_java()
        self.resolve_jars()
        self.write_config()
        self.format_storage(java)
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

    def write_config(self) -> None:
        s = self._settings
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{LOOPBACK}:{s.kafka_controller_port}",
            "listeners": f"PLAINTEXT://{LOOPBACK}:{s.kafka_port},CONTROLLER://{LOOPBACK}:{s.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{s.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
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
        self._root.mkdir(parents=True, exist_ok=True)
        self._config.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
        self._log4j.write_text(_LOG4J2.format(log=self.log))

    def format_storage(self, java: Path, cluster_id: str | None = None) -> None:
        """Format the KRaft storage once, as a standalone controller of a new cluster."""
        if (self.data / "meta.properties").exists():
            return
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


def _run_as(user: SystemUser | None) -> dict[str, Any]:
    # Only root may switch users; supplementary groups are dropped with root's.
    if user is None:
        return {}
    return {"user": user.uid, "group": user.gid, "extra_groups": []}
