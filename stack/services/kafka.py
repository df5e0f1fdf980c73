"""A single-node Kafka 4.1 in KRaft mode (one combined broker + controller) run from the Maven jars.

Kafka 4 has no ZooKeeper: the log directory must be formatted once with a cluster id before the first start.
The properties file is rewritten on every start so a changed address takes effect; the formatted storage is
kept, which is why the quorum is the static ``controller.quorum.voters`` form (re-read from the file) rather
than the dynamic ``--standalone`` one (whose voter endpoint is frozen into the log at format time).
"""

from __future__ import annotations

import base64
import contextlib
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from stack.service import JvmService, ServiceError

if TYPE_CHECKING:  # the client library costs 0.25 s to import: only checks load it
    from kafka import KafkaAdminClient

NODE_ID = 1


def random_cluster_id() -> str:
    """What ``kafka.tools.StorageTool random-uuid`` prints, without paying a JVM start for it.

    Kafka's ``Uuid.toString`` is URL-safe base64 of the 16 bytes without padding; ``Uuid.randomUuid`` rejects
    ids starting with '-' (they read as a command line option), so we do the same.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


class KafkaService(JvmService):
    name = "kafka"
    # Measured on 2 cores: 2.5-5.5 s from exec to a served metadata request (formatting adds ~1.5 s once).
    typical_start_s = 8.0

    @property
    def controller_port(self) -> int:
        return self.port + 1

    @property
    def config_file(self) -> Path:
        return self.folder / "server.properties"

    def ports(self) -> list[int]:
        return [self.port, self.controller_port]

    def properties(self) -> dict[str, str]:
        host = self.host
        return {
            "process.roles": "broker,controller",
            "node.id": str(NODE_ID),
            "controller.quorum.voters": f"{NODE_ID}@{host}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{host}:{self.port},CONTROLLER://{host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            # One broker: every internal topic must live with a single replica or it is never created.
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Consumer groups join at once instead of waiting 3 s for more members (tests and dev loops).
            "group.initial.rebalance.delay.ms": "0",
            # Two cores: the default thread pools (8 I/O, 3 network per listener) only add idle memory.
            "num.network.threads": "2",
            "num.io.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
        }

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(
            "# Written by `lakehouse stack up` from the LAKEHOUSE_* settings; edits are overwritten.\n"
            + "".join(f"{key}={value}\n" for key, value in self.properties().items())
        )
        if (self.data_dir / "meta.properties").exists():
            return
        result = subprocess.run(
            [
                "java",
                "-Xms256m",
                "-Xmx256m",
                "-cp",
                self.classpath(),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                random_cluster_id(),
                "-c",
                str(self.config_file),
            ],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise ServiceError(
                self.name,
                f"formatting the log dir {self.data_dir} failed",
                (result.stdout + result.stderr).strip()[-4000:],
            )

    def command(self) -> list[str]:
        heap = self.settings.kafka_heap
        return [
            "java",
            f"-Xms{heap}",
            f"-Xmx{heap}",
            # Kafka's own kafka-run-class.sh defaults, minus the GC log file.
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true",
            # slf4j-simple 2.x binds only to slf4j-api 2.x; kafka_2.13's POM pins slf4j-api 1.7.36, with which
            # the broker logs nothing (SLF4J "NOP logger"): the kafka classpath must list slf4j-api 2.x.
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-cp",
            self.classpath(),
            "kafka.Kafka",
            str(self.config_file),
        ]

    def check(self, timeout_s: float = 5.0) -> str:
        timeout_ms = int(timeout_s * 1000)
        admin = admin_client(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id="lakehouse-stack-check",
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
            reconnect_backoff_max_ms=500,
        )
        try:
            cluster = admin.describe_cluster()
        finally:
            admin.close()
        count = len(cluster.get("brokers", []))
        return f"Kafka cluster {cluster.get('cluster_id')}, {count} broker{'' if count == 1 else 's'}"


def admin_client(**config: object) -> KafkaAdminClient:
    """A ``KafkaAdminClient`` that cleans up after itself when the broker does not answer.

    kafka-python 3.0 starts its I/O thread in the constructor and, when bootstrapping then times out, raises
    without stopping it: a health check polled during a boot would leave one thread and client behind per try.
    """
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient.__new__(KafkaAdminClient)
    try:
        admin.__init__(**config)  # type: ignore[misc]
    except BaseException:
        # What close() does, for the parts the constructor got to (close() itself needs a finished client).
        for part, method in (("_client", "close"), ("_net", "stop"), ("_metrics", "close")):
            with contextlib.suppress(Exception):
                getattr(getattr(admin, part), method)()
        raise
    return admin
