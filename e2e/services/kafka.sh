#!/usr/bin/env bash
# Apache Kafka for the e2e tests: one KRaft node (broker + controller) from the
# Maven Central jars listed in kafka.pom.xml, on 127.0.0.1:19092 (controller
# 19093), auto topic creation off, data under $E2E_STATE/kafka.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

KAFKA_VERSION=3.9.1
KAFKA_HOME="$E2E_CACHE/kafka-$KAFKA_VERSION"
KAFKA_PORT=19092
KAFKA_CONTROLLER_PORT=19093
# A fixed cluster id: the data directory is formatted once and reused.
KAFKA_CLUSTER_ID=bGFuZGZhbGwtZTJlLWthZg
DIR="$E2E_STATE/kafka"
PIDFILE="$E2E_STATE/kafka.pid"
LOGFILE="$E2E_STATE/kafka.log"

write_config() {
	mkdir -p "$DIR/data"
	cat >"$DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DIR/data
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
background.threads=2
log.cleaner.enable=false
PROPS
	cat >"$DIR/log4j.properties" <<'PROPS'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
PROPS
}

# The JVM command line; kafka_java runs it in the foreground.
read -ra KAFKA_JAVA <<<"java $(java_heap)"
KAFKA_JAVA+=(-Dlog4j.configuration="file:$DIR/log4j.properties" -cp "$KAFKA_HOME/lib/*")
kafka_java() { "${KAFKA_JAVA[@]}" "$@"; }

svc_status() { pids_alive "$PIDFILE" && probe kafka "127.0.0.1:$KAFKA_PORT" >/dev/null 2>&1; }

svc_start() {
	if pids_alive "$PIDFILE"; then
		log "kafka already running"
		return 0
	fi
	mvn_fetch "$E2E_ROOT/e2e/services/kafka.pom.xml" "$KAFKA_HOME"
	rm -f "$PIDFILE" "$E2E_STATE/kafka.env"
	require_ports_free "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
	write_config
	if [[ ! -f $DIR/data/meta.properties ]]; then
		log "formatting kafka storage"
		kafka_java kafka.tools.StorageTool format -t "$KAFKA_CLUSTER_ID" \
			-c "$DIR/server.properties" --ignore-formatted >>"$LOGFILE" 2>&1 ||
			{ log_tail "$LOGFILE"; die "kafka storage format failed"; }
	fi
	log "starting kafka on 127.0.0.1:$KAFKA_PORT"
	spawn kafka "$LOGFILE" "${KAFKA_JAVA[@]}" kafka.Kafka "$DIR/server.properties"
	if ! wait_ready "$PIDFILE" "kafka to answer metadata" probe kafka "127.0.0.1:$KAFKA_PORT"; then
		log_tail "$LOGFILE"
		die "kafka did not start"
	fi
	echo "export LANDFALL_E2E_KAFKA=127.0.0.1:$KAFKA_PORT" >"$E2E_STATE/kafka.env"
	log "kafka ready"
}

svc_stop() {
	stop_pids "$PIDFILE" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
	log "kafka stopped"
}

service_main kafka "${1:-}"
