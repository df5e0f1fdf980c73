from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse import jvm


def test_artifact_file_lists_the_pinned_pyspark_pair():
    classpaths = jvm.read_artifacts()
    assert "io.delta:delta-spark_4.2_2.13:4.4.0" in classpaths["spark"]
    assert "org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0" in classpaths["spark"]
    assert set(classpaths) == {"spark", "kafka", "cassandra"}


def test_malformed_line_names_file_and_line(tmp_path: Path):
    listing = tmp_path / "artifacts.txt"
    listing.write_text("# comment\nspark io.delta:delta-spark_4.2_2.13:4.4.0\nkafka org.apache.kafka:kafka_2.13\n")
    with pytest.raises(ValueError, match=r"artifacts.txt:3: expected"):
        jvm.read_artifacts(listing)


def test_classpath_folder_changes_with_coordinates(tmp_path: Path):
    first = jvm.classpath_dir(tmp_path, "kafka", ["a:b:1"])
    assert first == jvm.classpath_dir(tmp_path, "kafka", ["a:b:1"])
    assert first != jvm.classpath_dir(tmp_path, "kafka", ["a:b:2"])


def test_pom_declares_each_coordinate():
    pom = jvm.pom_for("x", ["org.example:lib-a:1.0", "org.example:lib-b:2.0"])
    assert pom.count("<dependency>") == 2
    assert "<artifactId>lib-b</artifactId><version>2.0</version>" in pom
