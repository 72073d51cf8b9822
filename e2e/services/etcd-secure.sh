#!/usr/bin/env bash
# A secured etcd for the e2e tests: Debian's etcd-server with client
# certificate TLS (--client-cert-auth) and auth on, on
# https://127.0.0.1:19379 (peer 19380), data under $E2E_STATE/etcd-secure.
# At start it makes the certificates (openssl, make_test_certs) and, with
# Debian's etcdctl, the users of docs/OPERATING.md's RBAC section: root,
# landfall with the role landfall-secure_e2e (readwrite on the prefix
# /landfall/secure_e2e/ only), and norole, a user without any role.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

PORT=19379
PEER_PORT=19380
URL="https://127.0.0.1:$PORT"
DIR="$E2E_STATE/etcd-secure"
CERTS="$E2E_STATE/certs"
PIDFILE="$E2E_STATE/etcd-secure.pid"
LOGFILE="$E2E_STATE/etcd-secure.log"
LOGID=secure_e2e
PREFIX=/landfall/$LOGID/

install_etcd() {
	command -v etcd >/dev/null && command -v etcdctl >/dev/null && return 0
	log "installing etcd-server and etcd-client from Debian"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update"
	apt-get install -y -qq etcd-server etcd-client >/dev/null || die "apt-get install etcd-server etcd-client"
}

# ctl USER:PASSWORD ARGS...: etcdctl over TLS with the client certificate.
ctl() {
	local auth=$1
	shift
	ETCDCTL_API=3 etcdctl --endpoints "$URL" --cacert "$CERTS/ca.pem" --cert "$CERTS/client.pem" \
		--key "$CERTS/client-key.pem" --user "$auth" --dial-timeout 3s --command-timeout 5s "$@"
}

pw() { cat "$DIR/$1.password"; }

# A real request as the landfall user, inside its prefix.
ready() {
	ctl "landfall:$(pw landfall)" put "${PREFIX}probe" ok >/dev/null &&
		[[ $(ctl "landfall:$(pw landfall)" get --print-value-only "${PREFIX}probe") == ok ]] &&
		ctl "landfall:$(pw landfall)" del "${PREFIX}probe" >/dev/null
}

svc_status() { pids_alive "$PIDFILE" && ready >/dev/null 2>&1; }

svc_start() {
	if pids_alive "$PIDFILE"; then
		log "etcd-secure already running"
		return 0
	fi
	install_etcd
	make_test_certs "$CERTS"
	rm -f "$PIDFILE" "$E2E_STATE/etcd-secure.env"
	require_ports_free "$PORT" "$PEER_PORT"
	mkdir -p "$DIR"
	local fresh=0
	[[ -d $DIR/data ]] || fresh=1
	for u in root landfall norole; do
		[[ -f $DIR/$u.password ]] || (umask 077 && openssl rand -hex 16 >"$DIR/$u.password")
	done
	log "starting etcd-secure on $URL"
	spawn etcd-secure "$LOGFILE" etcd --name e2e-secure \
		--data-dir "$DIR/data" \
		--listen-client-urls "$URL" --advertise-client-urls "$URL" \
		--cert-file "$CERTS/server.pem" --key-file "$CERTS/server-key.pem" \
		--trusted-ca-file "$CERTS/ca.pem" --client-cert-auth \
		--listen-peer-urls "http://127.0.0.1:$PEER_PORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
		--initial-cluster "e2e-secure=http://127.0.0.1:$PEER_PORT" \
		--initial-cluster-state new --quota-backend-bytes 1073741824
	if ((fresh)); then
		# Before auth is on, the client certificate alone is enough.
		if ! wait_ready "$PIDFILE" "etcd-secure to serve $URL" ctl "" endpoint health; then
			log_tail "$LOGFILE"
			die "etcd-secure did not start"
		fi
		# The commands of docs/OPERATING.md ("etcd with auth"), passwords
		# on stdin so that they appear in no process list.
		{
			ctl "" user add root --interactive=false <"$DIR/root.password"
			ctl "" role add root
			ctl "" user grant-role root root
			ctl "" role add landfall-$LOGID
			ctl "" role grant-permission landfall-$LOGID readwrite "$PREFIX" --prefix=true
			ctl "" user add landfall --interactive=false <"$DIR/landfall.password"
			ctl "" user grant-role landfall landfall-$LOGID
			ctl "" user add norole --interactive=false <"$DIR/norole.password"
			ctl "" auth enable
		} >>"$LOGFILE" 2>&1 || { log_tail "$LOGFILE"; die "etcd-secure: RBAC set-up failed"; }
	fi
	if ! wait_ready "$PIDFILE" "etcd-secure to answer the landfall user" ready; then
		log_tail "$LOGFILE"
		die "etcd-secure did not start"
	fi
	cat >"$E2E_STATE/etcd-secure.env" <<ENV
export LANDFALL_E2E_SECURE_ETCD=$URL
export LANDFALL_E2E_SECURE_CERTS=$CERTS
export LANDFALL_E2E_SECURE_ETCD_LOGID=$LOGID
export LANDFALL_E2E_SECURE_ETCD_PASSWORD_FILE=$DIR/landfall.password
export LANDFALL_E2E_SECURE_ETCD_NOROLE_PASSWORD_FILE=$DIR/norole.password
ENV
	log "etcd-secure ready"
}

svc_stop() {
	stop_pids "$PIDFILE" "$PORT" "$PEER_PORT"
	log "etcd-secure stopped"
}

service_main etcd-secure "${1:-}"
