#!/usr/bin/env bash
# A secured Apache Kafka for the e2e tests: one KRaft node (broker +
# controller) from the same Maven Central jars as kafka.sh, whose only
# broker listener is SASL_SSL with SCRAM-SHA-512 on 127.0.0.1:19392
# (controller 19393, plaintext, loopback), data under
# $E2E_STATE/kafka-secure. A second SASL_SSL listener, GSSAPI, on
# localhost:19394 takes Kerberos tickets of hdfs-krb.sh's realm
# (principal kafka/localhost, service name kafka; hdfs-krb.sh start-kdc
# starts the KDC first) and makes clients re-authenticate every 20s, so
# that a long run outlives its tickets. At start it makes the certificates (openssl,
# make_test_certs) and the SCRAM users at format time
# (kafka-storage format --add-scram): admin (the broker's own inter-broker
# user) and landfall.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

KAFKA_VERSION=3.9.1
KAFKA_HOME="$E2E_CACHE/kafka-$KAFKA_VERSION"
PORT=19392
CONTROLLER_PORT=19393
GSSAPI_PORT=19394
KRB="$E2E_STATE/hdfs-krb"
CLUSTER_ID=bGFuZGZhbGwtZTJlLXNlYw
DIR="$E2E_STATE/kafka-secure"
CERTS="$E2E_STATE/certs"
PIDFILE="$E2E_STATE/kafka-secure.pid"
LOGFILE="$E2E_STATE/kafka-secure.log"

pw() { cat "$DIR/$1.password"; }

write_config() {
	mkdir -p "$DIR/data"
	# Kafka reads a PEM key store as one file: the key, then the chain.
	cat "$CERTS/server-key.pem" "$CERTS/server.pem" >"$DIR/keystore.pem"
	chmod 600 "$DIR/keystore.pem"
	cat >"$DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=SASL_SSL://127.0.0.1:$PORT,GSSAPI://127.0.0.1:$GSSAPI_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=SASL_SSL://127.0.0.1:$PORT,GSSAPI://localhost:$GSSAPI_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,GSSAPI:SASL_SSL,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(pw admin)";
# Clients ask for tickets to kafka/<advertised host>: localhost.
listener.name.gssapi.sasl.enabled.mechanisms=GSSAPI
listener.name.gssapi.gssapi.sasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true keyTab="$KRB/keytabs/kafka.keytab" principal="kafka/localhost@LANDFALL.TEST";
sasl.kerberos.service.name=kafka
listener.name.gssapi.gssapi.connections.max.reauth.ms=20000
ssl.keystore.type=PEM
ssl.keystore.location=$DIR/keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$CERTS/ca.pem
ssl.endpoint.identification.algorithm=https
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
	chmod 600 "$DIR/server.properties"
	cat >"$DIR/log4j.properties" <<'PROPS'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
}

read -ra KAFKA_JAVA <<<"java $(java_heap)"
KAFKA_JAVA+=(-Dlog4j.configuration="file:$DIR/log4j.properties" -Djava.security.krb5.conf="$KRB/krb5.conf" -cp "$KAFKA_HOME/lib/*")

ready() {
	LANDFALL_PROBE_CA="$CERTS/ca.pem" LANDFALL_PROBE_USER=landfall LANDFALL_PROBE_PASSWORD_FILE="$DIR/landfall.password" \
		probe kafka-sasl "127.0.0.1:$PORT" &&
		LANDFALL_PROBE_CA="$CERTS/ca.pem" probe kafka-gssapi "localhost:$GSSAPI_PORT" "$KRB/keytabs/landfall.keytab" landfall/localhost@LANDFALL.TEST "$KRB/krb5.conf"
}

svc_status() { pids_alive "$PIDFILE" && ready >/dev/null 2>&1; }

svc_start() {
	if pids_alive "$PIDFILE"; then
		log "kafka-secure already running"
		return 0
	fi
	mvn_fetch "$E2E_ROOT/e2e/services/kafka.pom.xml" "$KAFKA_HOME"
	make_test_certs "$CERTS"
	bash "$E2E_ROOT/e2e/services/hdfs-krb.sh" start-kdc
	rm -f "$PIDFILE" "$E2E_STATE/kafka-secure.env"
	require_ports_free "$PORT" "$GSSAPI_PORT" "$CONTROLLER_PORT"
	mkdir -p "$DIR"
	for u in admin landfall; do
		[[ -f $DIR/$u.password ]] || (umask 077 && openssl rand -hex 16 >"$DIR/$u.password")
	done
	write_config
	if [[ ! -f $DIR/data/meta.properties ]]; then
		log "formatting kafka-secure storage with the SCRAM users"
		"${KAFKA_JAVA[@]}" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$DIR/server.properties" --ignore-formatted \
			--add-scram "SCRAM-SHA-512=[name=admin,password=$(pw admin)]" \
			--add-scram "SCRAM-SHA-512=[name=landfall,password=$(pw landfall)]" >>"$LOGFILE" 2>&1 ||
			{ log_tail "$LOGFILE"; die "kafka-secure storage format failed"; }
	fi
	log "starting kafka-secure (SASL_SSL, SCRAM-SHA-512) on 127.0.0.1:$PORT, GSSAPI on localhost:$GSSAPI_PORT"
	spawn kafka-secure "$LOGFILE" "${KAFKA_JAVA[@]}" kafka.Kafka "$DIR/server.properties"
	if ! wait_ready "$PIDFILE" "kafka-secure to answer metadata over SASL_SSL (SCRAM and GSSAPI)" ready; then
		log_tail "$LOGFILE"
		die "kafka-secure did not start"
	fi
	cat >"$E2E_STATE/kafka-secure.env" <<ENV
export LANDFALL_E2E_SECURE_KAFKA=127.0.0.1:$PORT
export LANDFALL_E2E_SECURE_CERTS=$CERTS
export LANDFALL_E2E_SECURE_KAFKA_USER=landfall
export LANDFALL_E2E_SECURE_KAFKA_PASSWORD_FILE=$DIR/landfall.password
export LANDFALL_E2E_GSSAPI_KAFKA=localhost:$GSSAPI_PORT
ENV
	log "kafka-secure ready"
}

svc_stop() {
	stop_pids "$PIDFILE" "$PORT" "$GSSAPI_PORT" "$CONTROLLER_PORT"
	# The KDC its start started, when hdfs-krb.sh's stop has not.
	bash "$E2E_ROOT/e2e/services/hdfs-krb.sh" stop-kdc
	log "kafka-secure stopped"
}

service_main kafka-secure "${1:-}"
