#!/bin/bash
# apache/kafka's kafka-acls.sh, for the local image: the principals' ACLs for `topics` in docker-compose.yml.
# shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM options
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} -cp '/opt/kafka/libs/*' org.apache.kafka.tools.AclCommand "$@"
