#!/usr/bin/env bash
# The Hive standalone metastore for the e2e tests: Hive 4.0.1 from the Maven
# Central jars listed in e2e/hms/pom.xml, embedded Derby under
# $E2E_STATE/hms, Thrift on 127.0.0.1:${HMS_PORT:-19083}.
#
#   hms.sh start|stop|restart|status
#
# start writes $E2E_STATE/hms.env with LANDFALL_E2E_HMS=thrift://127.0.0.1:PORT
# once a real Thrift call (get_all_databases) answers; restart keeps the Derby
# database, so tables and partitions survive it.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

HIVE_VERSION=4.0.1
HMS_POM="$E2E_ROOT/e2e/hms/pom.xml"
# The cache is keyed by the pom's content, so editing the pom fetches anew.
HMS_HOME="$E2E_CACHE/hms-$HIVE_VERSION-$(sha1sum "$HMS_POM" | cut -c1-8)"
HMS_PORT="${HMS_PORT:-19083}"
DIR="$E2E_STATE/hms"
PIDFILE="$E2E_STATE/hms.pid"
LOGFILE="$E2E_STATE/hms.log"
ENVFILE="$E2E_STATE/hms.env"

write_config() {
	mkdir -p "$DIR/conf" "$DIR/warehouse" "$DIR/tmp"
	# The schema comes from DataNucleus (autoCreateAll) rather than the schema
	# tool: the tool's SQL scripts ship only in the binary tarball, which is
	# not on Maven Central. The background compaction and housekeeping
	# threads are off: they need the ACID tables and would only fill the log.
	cat >"$DIR/conf/metastore-site.xml" <<XML
<?xml version="1.0"?>
<configuration>
  <property><name>javax.jdo.option.ConnectionURL</name><value>jdbc:derby:;databaseName=$DIR/metastore_db;create=true</value></property>
  <property><name>javax.jdo.option.ConnectionDriverName</name><value>org.apache.derby.jdbc.EmbeddedDriver</value></property>
  <property><name>datanucleus.schema.autoCreateAll</name><value>true</value></property>
  <property><name>metastore.schema.verification</name><value>false</value></property>
  <property><name>metastore.warehouse.dir</name><value>file://$DIR/warehouse</value></property>
  <property><name>metastore.thrift.port</name><value>$HMS_PORT</value></property>
  <property><name>metastore.thrift.bind.host</name><value>127.0.0.1</value></property>
  <property><name>metastore.server.min.threads</name><value>4</value></property>
  <property><name>metastore.server.max.threads</name><value>64</value></property>
  <property><name>metastore.task.threads.always</name><value></value></property>
  <property><name>metastore.task.threads.remote</name><value></value></property>
  <property><name>metastore.compactor.initiator.on</name><value>false</value></property>
  <property><name>metastore.compactor.cleaner.on</name><value>false</value></property>
  <property><name>hive.compactor.initiator.on</name><value>false</value></property>
  <property><name>metastore.event.db.notification.api.auth</name><value>false</value></property>
  <property><name>metastore.metrics.enabled</name><value>false</value></property>
</configuration>
XML
	cat >"$DIR/conf/log4j2.properties" <<'PROPS'
status = WARN
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{ISO8601} %-5p [%t] %c{2}: %m%n
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = console
logger.dn.name = DataNucleus
logger.dn.level = WARN
logger.dn2.name = org.datanucleus
logger.dn2.level = WARN
PROPS
}

read -ra HMS_JAVA <<<"$(java_hive)"
HMS_JAVA+=(
	-Dderby.stream.error.file="$DIR/derby.log"
	-Djava.io.tmpdir="$DIR/tmp"
	-Dlog4j2.configurationFile="file:$DIR/conf/log4j2.properties"
	-Dlog4j.configurationFile="file:$DIR/conf/log4j2.properties"
	-cp "$DIR/conf:$HMS_HOME/lib/*"
)

# hms_ping: one real Thrift call. It sends get_all_databases in the strict
# binary protocol and waits for the first 49 bytes of the reply, the shortest
# successful reply that lists the "default" database (which the metastore
# creates at start). An exception reply is shorter and never names it.
hms_ping() {
	local reply
	reply=$({
		exec 3<>"/dev/tcp/127.0.0.1/$HMS_PORT" || exit 1
		printf '\x80\x01\x00\x01\x00\x00\x00\x11get_all_databases\x00\x00\x00\x01\x00' >&3
		timeout 10 head -c 49 <&3 | tr -c '[:alnum:]_' ' '
	} 2>/dev/null) || return 1
	[[ $reply == *get_all_databases*default* ]]
}

svc_status() { pids_alive "$PIDFILE" && hms_ping; }

svc_start() {
	if pids_alive "$PIDFILE"; then
		log "hms already running"
		return 0
	fi
	mvn_fetch "$HMS_POM" "$HMS_HOME"
	rm -f "$PIDFILE" "$ENVFILE"
	require_ports_free "$HMS_PORT"
	write_config
	log "starting hive metastore $HIVE_VERSION on 127.0.0.1:$HMS_PORT"
	spawn hms "$LOGFILE" "${HMS_JAVA[@]}" org.apache.hadoop.hive.metastore.HiveMetaStore -p "$HMS_PORT"
	# The first start creates the Derby schema, which takes a while on two
	# cores; later starts only open it.
	local deadline=$((SECONDS + ${HMS_START_TIMEOUT:-180}))
	until hms_ping; do
		if ! pids_alive "$PIDFILE" || ((SECONDS >= deadline)); then
			log_tail "$LOGFILE"
			svc_stop
			die "hive metastore did not answer get_all_databases on 127.0.0.1:$HMS_PORT; see $LOGFILE"
		fi
		sleep 1
	done
	echo "export LANDFALL_E2E_HMS=thrift://127.0.0.1:$HMS_PORT" >"$ENVFILE"
	log "hive metastore ready: $(cat "$ENVFILE")"
}

svc_stop() {
	rm -f "$ENVFILE"
	if [[ -f $PIDFILE ]]; then
		log "stopping hive metastore"
		kill_pids "$PIDFILE"
	fi
	wait_ports_free 60 "$HMS_PORT"
}

service_main hms "${1:-}"
