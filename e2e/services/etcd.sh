#!/usr/bin/env bash
# etcd for the e2e tests: the Debian etcd-server package, one member on
# 127.0.0.1:12379 (peer 12380), data under $E2E_STATE/etcd.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

ETCD_CLIENT_PORT=12379
ETCD_PEER_PORT=12380
ETCD_URL="http://127.0.0.1:$ETCD_CLIENT_PORT"
PIDFILE="$E2E_STATE/etcd.pid"
LOGFILE="$E2E_STATE/etcd.log"

install_etcd() {
	command -v etcd >/dev/null && return 0
	log "installing etcd-server from Debian"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update"
	apt-get install -y -qq etcd-server >/dev/null || die "apt-get install etcd-server"
	# The package enables a system service; the tests run their own member.
	command -v etcd >/dev/null || die "etcd-server installed but no etcd binary on PATH"
}

svc_status() { pids_alive "$PIDFILE" && probe etcd "$ETCD_URL" >/dev/null 2>&1; }

svc_start() {
	if pids_alive "$PIDFILE"; then
		log "etcd already running"
		return 0
	fi
	install_etcd
	rm -f "$PIDFILE" "$E2E_STATE/etcd.env"
	require_ports_free "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT"
	mkdir -p "$E2E_STATE/etcd"
	log "starting etcd on $ETCD_URL"
	spawn etcd "$LOGFILE" etcd --name e2e \
		--data-dir "$E2E_STATE/etcd/data" \
		--listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "e2e=http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster-state new --quota-backend-bytes 1073741824
	if ! wait_ready "$PIDFILE" "etcd to serve $ETCD_URL" probe etcd "$ETCD_URL"; then
		log_tail "$LOGFILE"
		die "etcd did not start"
	fi
	echo "export LANDFALL_E2E_ETCD=$ETCD_URL" >"$E2E_STATE/etcd.env"
	log "etcd ready"
}

svc_stop() {
	stop_pids "$PIDFILE" "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT"
	log "etcd stopped"
}

service_main etcd "${1:-}"
