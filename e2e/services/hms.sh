#!/usr/bin/env bash
# The Hive standalone metastore for the e2e tests: Hive 4.0.1 from the Maven
# Central jars listed in e2e/hms/pom.xml, embedded Derby under
# $E2E_STATE/hms, Thrift on 127.0.0.1:${HMS_PORT:-19083}.
#
#   hms.sh start|stop|restart|status
#
# start writes $E2E_STATE/hms.env with LANDFALL_E2E_HMS=thrift://127.0.0.1:PORT
# once a real Thrift call (get_all_databases) answers; restart keeps the Derby
# database, so tables and partitions survive it. With HMS_KERBEROS=1 it is
# the Kerberized metastore of hms-krb.sh instead.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

HIVE_VERSION=4.0.1
HMS_POM="$E2E_ROOT/e2e/hms/pom.xml"
# The cache is keyed by the pom's content, so editing the pom fetches anew.
HMS_HOME="$E2E_CACHE/hms-$HIVE_VERSION-$(sha1sum "$HMS_POM" | cut -c1-8)"
# HMS_KERBEROS=1 (hms-krb.sh) is the Kerberized metastore: SASL GSSAPI on
# its Thrift port as hive/localhost@LANDFALL.TEST, against hdfs-krb.sh's
# KDC and HDFS, with its own Derby, port and files.
if [[ ${HMS_KERBEROS:-} == 1 ]]; then
	NAME=hms-krb
	HMS_PORT="${HMS_KRB_PORT:-19483}"
	KRB_DIR="$E2E_STATE/hdfs-krb"
	REALM=LANDFALL.TEST
else
	NAME=hms
	HMS_PORT="${HMS_PORT:-19083}"
fi
DIR="$E2E_STATE/$NAME"
PIDFILE="$E2E_STATE/$NAME.pid"
LOGFILE="$E2E_STATE/$NAME.log"
ENVFILE="$E2E_STATE/$NAME.env"

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
$(krb_metastore_props)
</configuration>
XML
	if [[ -n ${KRB_DIR:-} ]]; then write_krb_site; fi
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

# krb_metastore_props: the metastore-site lines of the Kerberized mode.
# With SASL the metastore acts on HDFS as its caller, through the
# proxy-user rules hdfs-krb.sh gives hive.
krb_metastore_props() {
	[[ -n ${KRB_DIR:-} ]] || return 0
	cat <<XML
  <property><name>metastore.sasl.enabled</name><value>true</value></property>
  <property><name>metastore.kerberos.principal</name><value>hive/localhost@$REALM</value></property>
  <property><name>metastore.kerberos.keytab.file</name><value>$KRB_DIR/keytabs/hive.keytab</value></property>
XML
}

# write_krb_site: the Hadoop client side of the Kerberized mode (UGI logs
# in from the keytab; the HDFS client knows the NameNode's principal).
write_krb_site() {
	cat >"$DIR/conf/core-site.xml" <<XML
<?xml version="1.0"?>
<configuration>
  <property><name>hadoop.security.authentication</name><value>kerberos</value></property>
  <property><name>hadoop.security.authorization</name><value>true</value></property>
  <property><name>hadoop.rpc.protection</name><value>authentication</value></property>
</configuration>
XML
	cat >"$DIR/conf/hdfs-site.xml" <<XML
<?xml version="1.0"?>
<configuration>
  <property><name>dfs.namenode.kerberos.principal</name><value>nn/localhost@$REALM</value></property>
  <property><name>dfs.data.transfer.protection</name><value>authentication</value></property>
</configuration>
XML
}

read -ra HMS_JAVA <<<"$(java_hive)"
if [[ -n ${KRB_DIR:-} ]]; then HMS_JAVA+=(-Djava.security.krb5.conf="$KRB_DIR/krb5.conf"); fi
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

# The Kerberized metastore answers no plain Thrift: its probe is a real
# call over SASL GSSAPI, as the metastore's own principal (so that the
# KDC's tickets for landfall/localhost are the tests' landfall processes').
hms_krb_ping() {
	probe hms-krb "thrift://localhost:$HMS_PORT" "$KRB_DIR/keytabs/hive.keytab" "hive/localhost@$REALM" "$KRB_DIR/krb5.conf" >/dev/null 2>&1
}
ready() { if [[ -n ${KRB_DIR:-} ]]; then hms_krb_ping; else hms_ping; fi; }

svc_status() { pids_alive "$PIDFILE" && ready; }

svc_start() {
	if pids_alive "$PIDFILE"; then
		log "hms already running"
		return 0
	fi
	if [[ -n ${KRB_DIR:-} && ! -f $KRB_DIR/keytabs/hive.keytab ]]; then
		die "no $KRB_DIR/keytabs/hive.keytab: start hdfs-krb.sh first (its KDC makes the metastore's principal)"
	fi
	mvn_fetch "$HMS_POM" "$HMS_HOME"
	rm -f "$PIDFILE" "$ENVFILE"
	require_ports_free "$HMS_PORT"
	write_config
	log "starting $NAME (hive metastore $HIVE_VERSION) on 127.0.0.1:$HMS_PORT"
	spawn "$NAME" "$LOGFILE" "${HMS_JAVA[@]}" org.apache.hadoop.hive.metastore.HiveMetaStore -p "$HMS_PORT"
	# The first start creates the Derby schema, which takes a while on two
	# cores; later starts only open it.
	local deadline=$((SECONDS + ${HMS_START_TIMEOUT:-180}))
	until ready; do
		if ! pids_alive "$PIDFILE" || ((SECONDS >= deadline)); then
			log_tail "$LOGFILE"
			svc_stop
			die "$NAME did not answer get_all_databases on 127.0.0.1:$HMS_PORT; see $LOGFILE"
		fi
		sleep 1
	done
	if [[ -n ${KRB_DIR:-} ]]; then
		# localhost, not 127.0.0.1: _HOST in the principal is the URI's host.
		echo "export LANDFALL_E2E_KRB_HMS=thrift://localhost:$HMS_PORT" >"$ENVFILE"
	else
		echo "export LANDFALL_E2E_HMS=thrift://127.0.0.1:$HMS_PORT" >"$ENVFILE"
	fi
	log "$NAME ready: $(cat "$ENVFILE")"
}

svc_stop() {
	rm -f "$ENVFILE"
	if [[ -f $PIDFILE ]]; then
		log "stopping $NAME"
		kill_pids "$PIDFILE"
	fi
	wait_ports_free 60 "$HMS_PORT"
}

service_main "$NAME" "${1:-}"
