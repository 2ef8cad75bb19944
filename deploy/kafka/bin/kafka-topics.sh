#!/bin/bash
# apache/kafka's kafka-topics.sh, for the local image: the same tool on the same jars.
# shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM options
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} -cp '/opt/kafka/libs/*' org.apache.kafka.tools.TopicCommand "$@"
