#!/usr/bin/env bash
# Hadoop HDFS for the e2e tests: a NameNode and a DataNode as two processes
# (so that a fault test can restart the DataNode alone), from the Maven
# Central jars listed in hdfs.pom.xml. NameNode RPC on 127.0.0.1:19000,
# replication 1, permissions off, data under $E2E_STATE/hdfs.
#
#   hdfs.sh start|stop|restart|status
#   hdfs.sh stop-datanode|start-datanode|restart-datanode|pause-datanode|resume-datanode
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

HADOOP_VERSION=3.4.1
HADOOP_HOME="$E2E_CACHE/hadoop-$HADOOP_VERSION"
NN_PORT=19000
NN_HTTP_PORT=19870
DN_PORT=19866
DN_IPC_PORT=19867
DN_HTTP_PORT=19864
DIR="$E2E_STATE/hdfs"
CONF="$DIR/conf"
NN_PIDFILE="$E2E_STATE/hdfs.pid"
DN_PIDFILE="$E2E_STATE/hdfs-datanode.pid"
NN_LOG="$E2E_STATE/hdfs.log"
DN_LOG="$E2E_STATE/hdfs-datanode.log"
export HADOOP_USER_NAME="${HADOOP_USER_NAME:-root}"

prop() { printf '  <property><name>%s</name><value>%s</value></property>\n' "$1" "$2"; }

write_config() {
	mkdir -p "$CONF" "$DIR/name" "$DIR/data" "$DIR/tmp"
	# The daemons' web servers look up webapps/<name> on the classpath; the
	# Maven Central jars do not ship them, and empty ones serve the tests.
	mkdir -p "$CONF/webapps/hdfs" "$CONF/webapps/datanode" "$CONF/webapps/static"
	{
		echo '<?xml version="1.0"?><configuration>'
		prop fs.defaultFS "hdfs://127.0.0.1:$NN_PORT"
		prop hadoop.tmp.dir "$DIR/tmp"
		prop hadoop.security.authentication simple
		echo '</configuration>'
	} >"$CONF/core-site.xml"
	{
		echo '<?xml version="1.0"?><configuration>'
		prop dfs.namenode.name.dir "$DIR/name"
		prop dfs.datanode.data.dir "$DIR/data"
		prop dfs.replication 1
		prop dfs.namenode.replication.min 1
		prop dfs.permissions.enabled false
		prop dfs.webhdfs.enabled false
		prop dfs.namenode.rpc-address "127.0.0.1:$NN_PORT"
		prop dfs.namenode.http-address "127.0.0.1:$NN_HTTP_PORT"
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
		prop dfs.namenode.heartbeat.recheck-interval 5000
		prop dfs.blockreport.initialDelay 0
		prop dfs.datanode.du.reserved 0
		prop dfs.namenode.resource.du.reserved 0
		# Sync finalizes the block; with synconclose the DataNode fsyncs it.
		prop dfs.datanode.synconclose true
		prop dfs.namenode.fs-limits.min-block-size 1024
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
HDFS_JAVA+=(-Dhadoop.log.dir="$DIR/logs" -Dhadoop.home.dir="$HADOOP_HOME" -Dlog4j.configuration="file:$CONF/log4j.properties" -cp "$CONF:$HADOOP_HOME/lib/*")

nn_status() { pids_alive "$NN_PIDFILE"; }
dn_status() { pids_alive "$DN_PIDFILE"; }
svc_status() { nn_status && dn_status && probe hdfs "127.0.0.1:$NN_PORT" >/dev/null 2>&1; }

start_namenode() {
	if nn_status; then
		return 0
	fi
	rm -f "$NN_PIDFILE"
	require_ports_free "$NN_PORT" "$NN_HTTP_PORT"
	if [[ ! -f $DIR/name/current/VERSION ]]; then
		log "formatting the namenode"
		"${HDFS_JAVA[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode -format -force -nonInteractive \
			-clusterid landfall-e2e >>"$NN_LOG" 2>&1 || { log_tail "$NN_LOG"; die "namenode format failed"; }
	fi
	log "starting the namenode on 127.0.0.1:$NN_PORT"
	spawn hdfs "$NN_LOG" "${HDFS_JAVA[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode
	if ! wait_ready "$NN_PIDFILE" "the namenode to listen on $NN_PORT" port_open "$NN_PORT"; then
		log_tail "$NN_LOG"
		die "namenode did not start"
	fi
}

start_datanode() {
	if dn_status; then
		return 0
	fi
	rm -f "$DN_PIDFILE"
	require_ports_free "$DN_PORT" "$DN_IPC_PORT" "$DN_HTTP_PORT"
	log "starting the datanode on 127.0.0.1:$DN_PORT"
	spawn hdfs-datanode "$DN_LOG" "${HDFS_JAVA[@]}" org.apache.hadoop.hdfs.server.datanode.DataNode
	# A file written, read back and removed proves that the namenode left
	# safe mode and the datanode registered and takes blocks.
	if ! wait_ready "$DN_PIDFILE" "hdfs to take a write" probe hdfs "127.0.0.1:$NN_PORT"; then
		log_tail "$NN_LOG"
		log_tail "$DN_LOG"
		probe hdfs "127.0.0.1:$NN_PORT" || true
		die "hdfs did not become writable"
	fi
}

stop_datanode() {
	stop_pids "$DN_PIDFILE" "$DN_PORT" "$DN_IPC_PORT" "$DN_HTTP_PORT"
	log "datanode stopped"
}

svc_start() {
	mvn_fetch "$E2E_ROOT/e2e/services/hdfs.pom.xml" "$HADOOP_HOME"
	rm -f "$E2E_STATE/hdfs.env"
	write_config
	start_namenode
	start_datanode
	echo "export LANDFALL_E2E_HDFS=127.0.0.1:$NN_PORT" >"$E2E_STATE/hdfs.env"
	log "hdfs ready"
}

svc_stop() {
	stop_datanode
	stop_pids "$NN_PIDFILE" "$NN_PORT" "$NN_HTTP_PORT"
	log "hdfs stopped"
}

# signal_datanode freezes (STOP) or thaws (CONT) the DataNode: a DataNode
# that stops answering without closing its connections, as a hung disk or
# a long GC pause leaves it.
signal_datanode() {
	local pid
	[[ -f $DN_PIDFILE ]] || die "no datanode running"
	while read -r pid; do
		[[ -n $pid ]] && kill "-$1" "$pid"
	done <"$DN_PIDFILE"
	log "datanode sent SIG$1"
}

case ${1:-} in
stop-datanode) stop_datanode ;;
pause-datanode) signal_datanode STOP ;;
resume-datanode) signal_datanode CONT ;;
start-datanode)
	write_config
	start_datanode
	;;
restart-datanode)
	stop_datanode
	start_datanode
	;;
*) service_main hdfs "${1:-}" ;;
esac
