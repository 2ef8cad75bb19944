"""Apache Kafka 4.x in KRaft combined mode, from Maven Central jars, on 127.0.0.1, data under .local/kafka."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import uuid
from pathlib import Path

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.java import find_java
from amnesty_runtime.stack.ports import LOOPBACK, require_free
from amnesty_runtime.stack.processes import ProcessRecord, ProcessTable

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
        self.write_config()
        self.format_storage(java)
        with self._stdout.open("ab") as out:
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

    def _listeners(self) -> tuple[str, str, str]:
        """``listeners``, ``advertised.listeners`` and the security protocol map: the clients' listener,
        the controller's, and the proxied one when a proxy port is set."""
        s = self._settings
        listeners = [
            f"PLAINTEXT://{LOOPBACK}:{s.kafka_port}",
            f"CONTROLLER://{LOOPBACK}:{s.kafka_controller_port}",
        ]
        advertised = [f"PLAINTEXT://{LOOPBACK}:{s.kafka_port}"]
        protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"]
        if s.kafka_proxied_port is not None and s.kafka_proxy_port is not None:
            listeners.append(f"PROXIED://{LOOPBACK}:{s.kafka_proxied_port}")
            advertised.append(f"PROXIED://{LOOPBACK}:{s.kafka_proxy_port}")
            protocols.append("PROXIED:PLAINTEXT")
        return ",".join(listeners), ",".join(advertised), ",".join(protocols)

    def write_config(self) -> None:
        s = self._settings
        listeners, advertised, protocols = self._listeners()
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{LOOPBACK}:{s.kafka_controller_port}",
            "listeners": listeners,
            "advertised.listeners": advertised,
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": protocols,
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
