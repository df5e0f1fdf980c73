"""A single-node Cassandra 5.0 run from the Maven jars (cassandra-all and its runtime closure).

The jars carry no ``conf/`` folder, so what ``bin/cassandra`` and ``conf/*.options`` would add is written
here: a minimal 5.0 ``cassandra.yaml`` (5.0 rejects unknown keys, so only keys it knows), a logback config at
INFO, and the JVM flags of ``conf/jvm-server.options`` + ``conf/jvm17-server.options``. No JMX port is opened:
without ``cassandra.jmx.*.port`` 5.0 skips JMX (nodetool is not used here) and 7199 stays free.
"""

from __future__ import annotations

import json
from pathlib import Path

from stack.service import JvmService, ServiceError

# Node-to-node port: 7000 beside the default native port 9042, and moved with it, so a second stack on other
# ports (another checkout, a CI run beside a developer's stack) does not collide.
STORAGE_PORT_OFFSET = 9042 - 7000

# Cassandra 5.0 conf/jvm17-server.options, JPMS section: Cassandra reaches into JDK internals (off-heap
# memory, jamm's object sizing, the in-process attach API, javac for UDFs) and fails at start without these.
JPMS_FLAGS = [
    "-Djdk.attach.allowAttachSelf=true",
    *(
        f"--add-exports={module}=ALL-UNNAMED"
        for module in (
            "java.base/jdk.internal.misc",
            "java.management.rmi/com.sun.jmx.remote.internal.rmi",
            "java.rmi/sun.rmi.registry",
            "java.rmi/sun.rmi.server",
            "java.sql/java.sql",
            "java.base/java.lang.ref",
            "jdk.unsupported/sun.misc",
            "jdk.compiler/com.sun.tools.javac.file",
            "jdk.attach/sun.tools.attach",
        )
    ),
    *(
        f"--add-opens={module}=ALL-UNNAMED"
        for module in (
            "java.base/java.lang.module",
            "java.base/jdk.internal.loader",
            "java.base/jdk.internal.ref",
            "java.base/jdk.internal.reflect",
            "java.base/jdk.internal.math",
            "java.base/jdk.internal.module",
            "java.base/jdk.internal.util.jar",
            "jdk.management/com.sun.management.internal",
            "java.base/sun.nio.ch",
            "java.base/java.io",
            "java.base/java.lang.reflect",
            "jdk.compiler/com.sun.tools.javac",
            "java.base/java.lang",
            "java.base/java.util",
        )
    ),
]

# The GC and Netty lines of jvm17-server.options and the general ones of jvm-server.options that matter on a
# laptop-sized node; -XX:+AlwaysPreTouch is left out on purpose (it makes the whole heap resident at start).
TUNING_FLAGS = [
    "-XX:+UseG1GC",
    "-XX:+ParallelRefProcEnabled",
    "-XX:MaxTenuringThreshold=1",
    "-XX:G1HeapRegionSize=16m",
    "-XX:G1RSetUpdatingPauseTimePercent=5",
    "-XX:MaxGCPauseMillis=300",
    "-XX:InitiatingHeapOccupancyPercent=70",
    # Exit rather than limp on after an OutOfMemoryError (Cassandra warns at start without one of these).
    "-Xss256k",
    "-XX:+UseThreadPriorities",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:+PerfDisableSharedMem",
    "-XX:StringTableSize=1000003",
    "-Djava.net.preferIPv4Stack=true",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dio.netty.allocator.useCacheForAllThreads=true",
    "-Dio.netty.allocator.maxOrder=11",
]

LOGBACK_XML = """<configuration scan="false">
  <!-- INFO to stdout, which the stack manager sends to the log file; Cassandra's stock config logs DEBUG. -->
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
</configuration>
"""


class CassandraService(JvmService):
    name = "cassandra"
    # Measured on 2 cores: 5.5-9.5 s to the first CQL answer (a fresh data dir is no slower).
    typical_start_s = 15.0

    @property
    def config_file(self) -> Path:
        return self.folder / "cassandra.yaml"

    @property
    def logback_file(self) -> Path:
        return self.folder / "logback.xml"

    def ports(self) -> list[int]:
        return [self.port, self.storage_port]

    @property
    def storage_port(self) -> int:
        return self.port - STORAGE_PORT_OFFSET

    def config(self) -> dict[str, object]:
        host, data = self.host, self.data_dir
        return {
            "cluster_name": "lakehouse",
            # One fixed token: a single node owns the whole ring either way, fewer ranges start faster, and a
            # fixed token spares the "picking random token" warning.
            "num_tokens": 1,
            "initial_token": "0",
            "partitioner": "org.apache.cassandra.dht.Murmur3Partitioner",
            "endpoint_snitch": "SimpleSnitch",
            "seed_provider": [
                {
                    "class_name": "org.apache.cassandra.locator.SimpleSeedProvider",
                    "parameters": [{"seeds": f"{host}:{self.storage_port}"}],
                }
            ],
            "listen_address": host,
            "rpc_address": host,
            "storage_port": self.storage_port,
            "native_transport_port": self.port,
            "start_native_transport": True,
            "data_file_directories": [str(data / "data")],
            "commitlog_directory": str(data / "commitlog"),
            "hints_directory": str(data / "hints"),
            "saved_caches_directory": str(data / "saved_caches"),
            "cdc_raw_directory": str(data / "cdc_raw"),
            # A write is acknowledged once its commit log is on disk. With the default (periodic, 10 s) a SIGKILL
            # lost acknowledged writes: replay stops at the last sync marker, and with one replica nothing else
            # holds them (the kill suite lost 2 of 2,746 orders of the relay's view that way). `batch` costs one fsync
            # per write: here 900 → 430-670 sequential inserts/s, 5,000 → 1,300-1,800/s at 32 in flight (`group`
            # with a 2 ms window was no better). A cluster with three replicas and QUORUM writes keeps periodic.
            "commitlog_sync": "batch",
            "commitlog_segment_size": "16MiB",
            # Dev data: dropping or truncating a table should not leave a snapshot behind on disk.
            "auto_snapshot": False,
            # Sized for 2 cores and a 1 GiB heap instead of a server (the defaults are 32 threads each).
            "concurrent_reads": 4,
            "concurrent_writes": 4,
            "concurrent_counter_writes": 4,
            "concurrent_materialized_view_writes": 2,
            "concurrent_compactors": 1,
            # Memtables on heap and a small chunk cache keep the off-heap part of the RSS small and bounded.
            "memtable_allocation_type": "heap_buffers",
            "file_cache_size": "64MiB",
            # A fresh single node has no 4.x sstables or peers to stay compatible with.
            "storage_compatibility_mode": "NONE",
        }

    @property
    def triggers_dir(self) -> Path:
        return self.folder / "triggers"

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Cassandra warns on the first DDL statement when its trigger folder (conf/triggers) is missing.
        self.triggers_dir.mkdir(exist_ok=True)
        # JSON is a subset of YAML: no YAML writer needed, and every value is quoted unambiguously.
        self.config_file.write_text(
            "# Written by `lakehouse stack up` from the LAKEHOUSE_* settings; edits are overwritten.\n"
            + json.dumps(self.config(), indent=2)
            + "\n"
        )
        self.logback_file.write_text(LOGBACK_XML)

    def command(self) -> list[str]:
        jars = self.jars()
        jamm = next((jar for jar in jars if jar.name.startswith("jamm-")), None)
        if jamm is None:
            raise ServiceError(self.name, f"the cassandra classpath has no jamm jar: {self.install_hint()}")
        heap = self.settings.cassandra_heap
        return [
            "java",
            f"-Xms{heap}",
            f"-Xmx{heap}",
            *TUNING_FLAGS,
            *JPMS_FLAGS,
            # Cassandra measures memtable sizes with jamm, which must be loaded as an agent.
            f"-javaagent:{jamm}",
            f"-Dcassandra.config=file://{self.config_file}",
            f"-Dlogback.configurationFile={self.logback_file}",
            f"-Dcassandra.storagedir={self.data_dir}",
            f"-Dcassandra.logdir={self.folder}",
            f"-Dcassandra.triggers_dir={self.triggers_dir}",
            "-Dcassandra-foreground=yes",
            # One node: there is no gossip to settle, and waiting for it costs seconds at every start.
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
            "-cp",
            ":".join(str(jar) for jar in jars),
            "org.apache.cassandra.service.CassandraDaemon",
        ]

    def check(self, timeout_s: float = 5.0) -> str:
        from cassandra import ProtocolVersion
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
        from cassandra.policies import RoundRobinPolicy

        # An explicit profile and policy: the driver otherwise warns about guessing a local datacenter. And
        # protocol v5 (Cassandra 4.0+) pinned: the driver otherwise starts at DSE v2 and warns per downgrade.
        profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=timeout_s)
        cluster = Cluster(
            contact_points=[self.host],
            port=self.port,
            protocol_version=ProtocolVersion.V5,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            connect_timeout=timeout_s,
            control_connection_timeout=timeout_s,
        )
        try:
            session = cluster.connect()
            row = session.execute("SELECT release_version FROM system.local").one()
        finally:
            cluster.shutdown()
        return f"Cassandra {row.release_version}"
