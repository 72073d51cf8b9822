#!/usr/bin/env bash
# Apache Kafka for the e2e tests: one KRaft node (broker + controller) from the
# Maven Central jars listed in kafka.pom.xml, on 127.0.0.1:19092 (controller
# 19093), auto topic creation off, data under $E2E_STATE/kafka.
#   kafka.sh start-broker2|stop-broker2|pause-broker2|resume-broker2
# runs a second, broker-only node on 19094 for the tests that need one
# broker to hang while the other serves.
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
# A second, broker-only node (node.id 2) that tests start when they need a
# broker to fail while another keeps serving (kafka.sh start-broker2).
BROKER2_PORT=19094
BROKER2_PIDFILE="$E2E_STATE/kafka-broker2.pid"
BROKER2_LOG="$E2E_STATE/kafka-broker2.log"

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
write_broker2_config() {
	mkdir -p "$DIR/data2"
	cat >"$DIR/broker2.properties" <<PROPS
process.roles=broker
node.id=2
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$BROKER2_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$BROKER2_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DIR/data2
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=2
background.threads=2
log.cleaner.enable=false
PROPS
}

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

start_broker2() {
	pids_alive "$PIDFILE" || die "kafka is not running: start it first"
	if pids_alive "$BROKER2_PIDFILE"; then
		return 0
	fi
	rm -f "$BROKER2_PIDFILE"
	require_ports_free "$BROKER2_PORT"
	write_broker2_config
	if [[ ! -f $DIR/data2/meta.properties ]]; then
		kafka_java kafka.tools.StorageTool format -t "$KAFKA_CLUSTER_ID" \
			-c "$DIR/broker2.properties" --ignore-formatted >>"$BROKER2_LOG" 2>&1 ||
			{ log_tail "$BROKER2_LOG"; die "kafka broker 2 storage format failed"; }
	fi
	log "starting kafka broker 2 on 127.0.0.1:$BROKER2_PORT"
	spawn kafka-broker2 "$BROKER2_LOG" "${KAFKA_JAVA[@]}" kafka.Kafka "$DIR/broker2.properties"
	if ! wait_ready "$BROKER2_PIDFILE" "kafka broker 2 to answer metadata" probe kafka "127.0.0.1:$BROKER2_PORT"; then
		log_tail "$BROKER2_LOG"
		die "kafka broker 2 did not start"
	fi
	log "kafka broker 2 ready"
}

# signal_broker2 freezes (STOP) or thaws (CONT) broker 2: the leader of its
# partitions stops answering while broker 1 keeps serving.
signal_broker2() {
	local pid
	[[ -f $BROKER2_PIDFILE ]] || die "kafka broker 2 is not running"
	while read -r pid; do
		[[ -n $pid ]] && kill "-$1" "$pid"
	done <"$BROKER2_PIDFILE"
	log "kafka broker 2 sent SIG$1"
}

stop_broker2() {
	# A frozen process would ignore TERM until thawed.
	[[ -f $BROKER2_PIDFILE ]] && signal_broker2 CONT
	stop_pids "$BROKER2_PIDFILE" "$BROKER2_PORT"
}

svc_stop() {
	stop_broker2
	stop_pids "$PIDFILE" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
	log "kafka stopped"
}

case ${1:-} in
start-broker2) start_broker2 ;;
stop-broker2) stop_broker2 ;;
pause-broker2) signal_broker2 STOP ;;
resume-broker2) signal_broker2 CONT ;;
*) service_main kafka "${1:-}" ;;
esac
