#!/usr/bin/env bash
# A Kerberized HDFS for the e2e tests (kerberos_test.go): an MIT KDC
# (Debian's krb5-kdc) for the realm LANDFALL.TEST on 127.0.0.1:19488, and
# a NameNode (RPC 127.0.0.1:19400) and DataNode with
# hadoop.security.authentication=kerberos, service authorization on, and
# SASL data transfer protection "authentication" to the DataNode (with
# ignore.secure.ports.for.testing instead of privileged ports and HTTPS).
# The Hadoop jars are hdfs.sh's (hdfs.pom.xml). Data under
# $E2E_STATE/hdfs-krb.
#
# At start it makes the realm and, with kadmin.local, the principals and
# their keytabs under $E2E_STATE/hdfs-krb/keytabs:
#   hdfs.keytab      nn/localhost, dn/localhost, HTTP/localhost (the daemons)
#   landfall.keytab  landfall/localhost, tickets of 90s, not renewable: a
#                    run of a few minutes must log in again by itself
#   stale.keytab     landfall-stale/localhost, whose key was changed after
#                    the export (what a second ktadd does)
#   norights.keytab  landfall-norights/localhost, a valid principal without
#                    write permission anywhere (HDFS permissions are on)
#   hive.keytab      hive/localhost, the Kerberized metastore (hms-krb.sh)
#   kafka.keytab     kafka/localhost, kafka-secure.sh's GSSAPI listener
#
# "start-kdc" makes the realm and starts only the KDC (kafka-secure.sh
# needs no HDFS); a later start keeps both.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

HADOOP_VERSION=3.4.1
HADOOP_HOME="$E2E_CACHE/hadoop-$HADOOP_VERSION"
REALM=LANDFALL.TEST
KDC_PORT=19488
NN_PORT=19400
NN_HTTP_PORT=19401
DN_PORT=19402
DN_IPC_PORT=19403
DN_HTTP_PORT=19404
DIR="$E2E_STATE/hdfs-krb"
CONF="$DIR/conf"
KT="$DIR/keytabs"
KDC_PIDFILE="$E2E_STATE/hdfs-krb-kdc.pid"
NN_PIDFILE="$E2E_STATE/hdfs-krb.pid"
DN_PIDFILE="$E2E_STATE/hdfs-krb-datanode.pid"
KDC_LOG="$E2E_STATE/hdfs-krb-kdc.log"
NN_LOG="$E2E_STATE/hdfs-krb.log"
DN_LOG="$E2E_STATE/hdfs-krb-datanode.log"
export KRB5_CONFIG="$DIR/krb5.conf" KRB5_KDC_PROFILE="$DIR/kdc.conf"

install_krb5() {
	command -v krb5kdc >/dev/null && command -v kadmin.local >/dev/null && command -v kdb5_util >/dev/null && return 0
	log "installing krb5-kdc, krb5-admin-server and krb5-user from Debian"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update"
	apt-get install -y -qq krb5-kdc krb5-admin-server krb5-user >/dev/null || die "apt-get install krb5-kdc krb5-admin-server krb5-user"
}

write_krb5() {
	mkdir -p "$DIR/kdc" "$KT"
	cat >"$DIR/krb5.conf" <<CONF
[libdefaults]
 default_realm = $REALM
 dns_lookup_kdc = false
 dns_lookup_realm = false
 rdns = false
 udp_preference_limit = 1
 forwardable = true

[realms]
 $REALM = {
  kdc = 127.0.0.1:$KDC_PORT
 }

[domain_realm]
 localhost = $REALM
CONF
	cat >"$DIR/kdc.conf" <<CONF
[kdcdefaults]
 kdc_ports = $KDC_PORT
 kdc_tcp_ports = $KDC_PORT

[realms]
 $REALM = {
  database_name = $DIR/kdc/principal
  key_stash_file = $DIR/kdc/stash
  acl_file = $DIR/kdc/kadm5.acl
  max_life = 10h
  max_renewable_life = 0
  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
 }

[logging]
 kdc = FILE:$KDC_LOG
CONF
	: >"$DIR/kdc/kadm5.acl"
}

kadm() { kadmin.local -r "$REALM" -q "$1" >>"$KDC_LOG" 2>&1 || die "kadmin.local: $1"; }

make_realm() {
	[[ -f $DIR/kdc/principal ]] && return 0
	log "creating the realm $REALM"
	kdb5_util create -s -r "$REALM" -P "master-$RANDOM$RANDOM" >>"$KDC_LOG" 2>&1 || { log_tail "$KDC_LOG"; die "kdb5_util create"; }
	local p
	for p in nn/localhost dn/localhost HTTP/localhost landfall-norights/localhost landfall-stale/localhost; do
		kadm "addprinc -randkey $p"
	done
	kadm "addprinc -randkey -maxlife 90s -maxrenewlife 0 landfall/localhost"
	kadm "ktadd -k $KT/hdfs.keytab nn/localhost dn/localhost HTTP/localhost"
	kadm "ktadd -k $KT/landfall.keytab landfall/localhost"
	kadm "ktadd -k $KT/norights.keytab landfall-norights/localhost"
	kadm "ktadd -k $KT/stale.keytab landfall-stale/localhost"
	# The Kerberized metastore's principal (hms-krb.sh).
	kadm "addprinc -randkey hive/localhost"
	kadm "ktadd -k $KT/hive.keytab hive/localhost"
	# A second export changes the key again: stale.keytab is out of date.
	kadm "ktadd -k $DIR/kdc/rotated.keytab landfall-stale/localhost"
	# The broker principal of kafka-secure.sh's GSSAPI listener.
	kadm "addprinc -randkey kafka/localhost"
	kadm "ktadd -k $KT/kafka.keytab kafka/localhost"
	chmod 0600 "$KT"/*.keytab
}

kdc_ready() { kinit -k -t "$KT/hdfs.keytab" -c "FILE:$DIR/kdc/probe.ccache" nn/localhost; }

start_kdc() {
	pids_alive "$KDC_PIDFILE" && return 0
	rm -f "$KDC_PIDFILE"
	require_ports_free "$KDC_PORT"
	log "starting the KDC on 127.0.0.1:$KDC_PORT"
	spawn hdfs-krb-kdc "$KDC_LOG" krb5kdc -n -r "$REALM"
	if ! wait_ready "$KDC_PIDFILE" "the KDC to issue a ticket" kdc_ready; then
		log_tail "$KDC_LOG"
		die "the KDC did not start"
	fi
}

prop() { printf '  <property><name>%s</name><value>%s</value></property>\n' "$1" "$2"; }

write_hadoop_config() {
	mkdir -p "$CONF" "$DIR/name" "$DIR/data" "$DIR/tmp"
	mkdir -p "$CONF/webapps/hdfs" "$CONF/webapps/datanode" "$CONF/webapps/static"
	{
		echo '<?xml version="1.0"?><configuration>'
		prop fs.defaultFS "hdfs://localhost:$NN_PORT"
		prop hadoop.tmp.dir "$DIR/tmp"
		prop hadoop.security.authentication kerberos
		prop hadoop.security.authorization true
		prop hadoop.rpc.protection authentication
		# The Kerberized metastore (hms-krb.sh) acts on HDFS as its caller.
		prop hadoop.proxyuser.hive.hosts '*'
		prop hadoop.proxyuser.hive.groups '*'
		echo '</configuration>'
	} >"$CONF/core-site.xml"
	{
		echo '<?xml version="1.0"?><configuration>'
		# Only these users may talk to the NameNode at all.
		prop security.client.protocol.acl "landfall,landfall-norights,nn,dn,hive"
		prop security.datanode.protocol.acl "dn"
		echo '</configuration>'
	} >"$CONF/hadoop-policy.xml"
	{
		echo '<?xml version="1.0"?><configuration>'
		prop dfs.namenode.name.dir "$DIR/name"
		prop dfs.datanode.data.dir "$DIR/data"
		prop dfs.replication 1
		prop dfs.namenode.replication.min 1
		# Permissions on: nn (the NameNode's own user) is the superuser,
		# landfall writes only where the tests gave it the directory.
		prop dfs.permissions.enabled true
		prop dfs.webhdfs.enabled false
		prop dfs.namenode.rpc-address "localhost:$NN_PORT"
		prop dfs.namenode.http-address "localhost:$NN_HTTP_PORT"
		prop dfs.datanode.address "127.0.0.1:$DN_PORT"
		prop dfs.datanode.ipc.address "127.0.0.1:$DN_IPC_PORT"
		prop dfs.datanode.http.address "127.0.0.1:$DN_HTTP_PORT"
		prop dfs.datanode.hostname 127.0.0.1
		prop dfs.namenode.datanode.registration.ip-hostname-check false
		prop dfs.namenode.safemode.extension 0
		prop dfs.namenode.safemode.min.datanodes 0
		prop dfs.namenode.handler.count 8
		prop dfs.datanode.handler.count 4
		prop dfs.heartbeat.interval 1
		prop dfs.blockreport.initialDelay 0
		prop dfs.datanode.du.reserved 0
		prop dfs.namenode.resource.du.reserved 0
		prop dfs.datanode.synconclose true
		prop dfs.namenode.fs-limits.min-block-size 1024
		prop dfs.block.access.token.enable true
		prop dfs.data.transfer.protection authentication
		prop ignore.secure.ports.for.testing true
		prop dfs.namenode.kerberos.principal "nn/localhost@$REALM"
		prop dfs.namenode.keytab.file "$KT/hdfs.keytab"
		prop dfs.datanode.kerberos.principal "dn/localhost@$REALM"
		prop dfs.datanode.keytab.file "$KT/hdfs.keytab"
		prop dfs.web.authentication.kerberos.principal "HTTP/localhost@$REALM"
		prop dfs.web.authentication.kerberos.keytab "$KT/hdfs.keytab"
		echo '</configuration>'
	} >"$CONF/hdfs-site.xml"
	cat >"$CONF/log4j.properties" <<'PROPS'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
log4j.logger.BlockStateChange=WARN
log4j.logger.org.apache.hadoop.hdfs.StateChange=WARN
PROPS
}

read -ra HDFS_JAVA <<<"java $(java_heap)"
HDFS_JAVA+=(-Djava.security.krb5.conf="$DIR/krb5.conf" -Dhadoop.log.dir="$DIR/logs" -Dhadoop.home.dir="$HADOOP_HOME"
	-Dlog4j.configuration="file:$CONF/log4j.properties" -cp "$CONF:$HADOOP_HOME/lib/*")

# The probe is the superuser nn/localhost: /tmp is its to make.
krb_probe() { probe hdfs-krb "localhost:$NN_PORT" "$KT/hdfs.keytab" "nn/localhost@$REALM" "$DIR/krb5.conf"; }

svc_status() { pids_alive "$KDC_PIDFILE" && pids_alive "$NN_PIDFILE" && pids_alive "$DN_PIDFILE" && krb_probe >/dev/null 2>&1; }

start_namenode() {
	pids_alive "$NN_PIDFILE" && return 0
	rm -f "$NN_PIDFILE"
	require_ports_free "$NN_PORT" "$NN_HTTP_PORT"
	if [[ ! -f $DIR/name/current/VERSION ]]; then
		"${HDFS_JAVA[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode -format -force -nonInteractive \
			-clusterid landfall-e2e-krb >>"$NN_LOG" 2>&1 || { log_tail "$NN_LOG"; die "namenode format failed"; }
	fi
	log "starting the Kerberized namenode on localhost:$NN_PORT"
	spawn hdfs-krb "$NN_LOG" "${HDFS_JAVA[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode
	wait_ready "$NN_PIDFILE" "the namenode to listen on $NN_PORT" port_open "$NN_PORT" || { log_tail "$NN_LOG"; die "namenode did not start"; }
}

svc_start() {
	install_krb5
	mvn_fetch "$E2E_ROOT/e2e/services/hdfs.pom.xml" "$HADOOP_HOME"
	rm -f "$E2E_STATE/hdfs-krb.env"
	write_krb5
	make_realm
	start_kdc
	write_hadoop_config
	start_namenode
	if ! pids_alive "$DN_PIDFILE"; then
		rm -f "$DN_PIDFILE"
		require_ports_free "$DN_PORT" "$DN_IPC_PORT" "$DN_HTTP_PORT"
		log "starting the Kerberized datanode on 127.0.0.1:$DN_PORT"
		spawn hdfs-krb-datanode "$DN_LOG" "${HDFS_JAVA[@]}" org.apache.hadoop.hdfs.server.datanode.DataNode
	fi
	# A write through Kerberos and SASL to the DataNode, read back and removed.
	if ! wait_ready "$DN_PIDFILE" "the Kerberized hdfs to take a write" krb_probe; then
		log_tail "$NN_LOG"
		log_tail "$DN_LOG"
		krb_probe || true
		die "the Kerberized hdfs did not become writable"
	fi
	cat >"$E2E_STATE/hdfs-krb.env" <<ENV
export LANDFALL_E2E_KRB_HDFS=localhost:$NN_PORT
export LANDFALL_E2E_KRB_REALM=$REALM
export LANDFALL_E2E_KRB5_CONF=$DIR/krb5.conf
export LANDFALL_E2E_KRB_KEYTABS=$KT
ENV
	log "kerberized hdfs ready"
}

svc_stop() {
	stop_pids "$DN_PIDFILE" "$DN_PORT" "$DN_IPC_PORT" "$DN_HTTP_PORT"
	stop_pids "$NN_PIDFILE" "$NN_PORT" "$NN_HTTP_PORT"
	stop_pids "$KDC_PIDFILE" "$KDC_PORT"
	log "kerberized hdfs stopped"
}

case ${1:-} in
start-kdc)
	install_krb5
	write_krb5
	make_realm
	start_kdc
	;;
# stop-kdc: the KDC that start-kdc started (kafka-secure.sh's stop, for a
# run without hdfs-krb itself).
stop-kdc)
	stop_pids "$KDC_PIDFILE" "$KDC_PORT"
	;;
# restart-namenode: the NameNode alone, keeping its data; clients must
# reconnect (and so ask the KDC for a ticket again).
restart-namenode)
	stop_pids "$NN_PIDFILE" "$NN_PORT" "$NN_HTTP_PORT"
	start_namenode
	wait_until 60 "the Kerberized hdfs to take a write again" krb_probe || die "hdfs not writable after the namenode restart"
	;;
*) service_main hdfs-krb "${1:-}" ;;
esac
