"""The relay's partitioner sends every key where Kafka's default partitioner (aiokafka's, Java's) does."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as reference_murmur2
from hypothesis import given
from hypothesis import strategies as st

from amnesty_eventstore.partitioning import murmur2, partition_of


@given(st.binary(max_size=200))
def test_murmur2_equals_the_kafka_clients_hash(data: bytes) -> None:
    assert murmur2(data) == reference_murmur2(data)


def test_murmur2_of_the_java_clients_test_keys() -> None:
    # org.apache.kafka.common.utils.UtilsTest#testMurmur2 (Java's signed ints): the hash is fixed by
    # Kafka, not by whichever Python client we compare with above.
    expected = {b"21": -973932308, b"foobar": -790332482}
    for key, signed in expected.items():
        assert murmur2(key) == signed & 0xFFFFFFFF


@given(st.binary(min_size=0, max_size=64), st.integers(min_value=1, max_value=64))
def test_a_key_goes_to_the_default_partitioners_partition(key: bytes, partitions: int) -> None:
    every = list(range(partitions))
    assert partition_of(key, every) == DefaultPartitioner()(key, every, every)
