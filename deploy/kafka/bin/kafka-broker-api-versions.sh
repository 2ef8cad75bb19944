#!/bin/bash
# apache/kafka's kafka-broker-api-versions.sh, for the local image: the healthcheck's probe.
# shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM options
exec java ${KAFKA_HEAP_OPTS:--Xmx128m} -cp '/opt/kafka/libs/*' org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
