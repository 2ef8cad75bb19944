#!/bin/bash
# apache/kafka's kafka-configs.sh, for the local image: SCRAM users for `topics` in docker-compose.yml.
# shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM options
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} -cp '/opt/kafka/libs/*' kafka.admin.ConfigCommand "$@"
