#!/bin/bash
# The broker of the local Kafka image: KAFKA_* variables become server.properties the way apache/kafka
# maps them (KAFKA_FOO_BAR -> foo.bar, "__" -> "_", "___" -> "-"), the storage is formatted once with
# CLUSTER_ID, then the broker replaces this shell.
set -euo pipefail
: "${CLUSTER_ID:?CLUSTER_ID must be set}"
config=/opt/kafka/config/server.properties
: >"$config"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS) continue ;;
    KAFKA_*) ;;
    *) continue ;;
  esac
  key="${name#KAFKA_}"
  key="${key,,}"
  key="${key//___/-}"
  key="${key//__/@}"
  key="${key//_/.}"
  key="${key//@/_}"
  printf '%s=%s\n' "$key" "$value" >>"$config"
done < <(env)
cat >/opt/kafka/config/log4j2.properties <<'LOG4J'
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
LOG4J
java_args=(-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp '/opt/kafka/libs/*')
log_dirs="$(sed -n 's/^log\.dirs=//p' "$config")"
if [[ ! -f "${log_dirs:-/var/lib/kafka/data}/meta.properties" ]]; then
  java -Xmx256m "${java_args[@]}" kafka.tools.StorageTool format --cluster-id="$CLUSTER_ID" -c "$config"
fi
# shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM options
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true "${java_args[@]}" \
  kafka.Kafka "$config"
