# shellcheck shell=bash
# Shared helpers for the e2e service scripts (kafka.sh, hdfs.sh, etcd.sh,
# hms.sh). Source it; it defines no behaviour by itself.
#
# The contract every e2e/services/<name>.sh follows:
#   <name>.sh start|stop|restart|status
#   - state under $E2E_STATE (default <repo>/out/e2e), downloads cached under
#     <repo>/.cache/ so that a second run downloads nothing;
#   - start runs the service in the background on 127.0.0.1 with a small heap,
#     writes $E2E_STATE/<name>.pid (one pid per line, each the leader of its
#     own process group) and $E2E_STATE/<name>.log, waits (bounded) until a
#     real request succeeds, then writes $E2E_STATE/<name>.env with `export`
#     lines for the tests;
#   - stop kills the process groups and waits until the ports are free;
#   - restart is stop + start, keeping the data.
# Every wait is bounded; a script that gives up prints why and the log tail.

E2E_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
E2E_STATE="${E2E_STATE:-$E2E_ROOT/out/e2e}"
E2E_CACHE="${E2E_CACHE:-$E2E_ROOT/.cache}"
E2E_START_TIMEOUT="${E2E_START_TIMEOUT:-120}"
export E2E_ROOT E2E_STATE E2E_CACHE

mkdir -p "$E2E_STATE" "$E2E_CACHE"

log() { printf '%s e2e: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# port_open PORT: true if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_ports_free SECONDS PORT...: waits until no PORT accepts connections.
wait_ports_free() {
	local timeout=$1
	shift
	local deadline=$((SECONDS + timeout)) p
	for p in "$@"; do
		while port_open "$p"; do
			((SECONDS < deadline)) || die "port $p still open after ${timeout}s"
			sleep 0.2
		done
	done
}

# require_ports_free PORT...: fails at once if a port is taken by something
# this script did not start (a leftover from another run, another engineer).
require_ports_free() {
	local p
	for p in "$@"; do
		port_open "$p" && die "port $p is already in use; stop what holds it (ss -ltnp 'sport = :$p')"
	done
	return 0
}

# wait_until SECONDS WHAT CMD...: runs CMD every half second until it
# succeeds; gives up after SECONDS, naming WHAT.
wait_until() {
	local timeout=$1 what=$2
	shift 2
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || { log "gave up waiting ${timeout}s for $what"; return 1; }
		sleep 0.5
	done
}

# wait_ready PIDFILE WHAT CMD...: like wait_until with $E2E_START_TIMEOUT,
# but gives up at once if a process of PIDFILE has exited.
wait_ready() {
	local pidfile=$1 what=$2
	shift 2
	local deadline=$((SECONDS + E2E_START_TIMEOUT))
	until "$@" >/dev/null 2>&1; do
		pids_alive "$pidfile" || { log "process of $(basename "$pidfile" .pid) exited while waiting for $what"; return 1; }
		((SECONDS < deadline)) || { log "gave up waiting ${E2E_START_TIMEOUT}s for $what"; return 1; }
		sleep 0.5
	done
}

# alive PID: true if the process exists and is not a zombie.
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ -n $st && $st != Z* ]]
}

# spawn NAME LOGFILE CMD...: starts CMD in a new session (so its whole
# process tree is one process group), appends its pid to $E2E_STATE/NAME.pid.
spawn() {
	local name=$1 logfile=$2
	shift 2
	setsid "$@" >>"$logfile" 2>&1 </dev/null &
	echo $! >>"$E2E_STATE/$name.pid"
}

# kill_pids PIDFILE: TERM to each process group listed, KILL after 30 s.
kill_pids() {
	local pidfile=$1 pid deadline
	[[ -f $pidfile ]] || return 0
	while read -r pid; do
		[[ -n $pid ]] || continue
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done <"$pidfile"
	deadline=$((SECONDS + 30))
	while read -r pid; do
		[[ -n $pid ]] || continue
		while alive "$pid"; do
			if ((SECONDS >= deadline)); then
				log "pid $pid ignored TERM for 30s; sending KILL"
				kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
				sleep 0.5
				break
			fi
			sleep 0.2
		done
	done <"$pidfile"
	rm -f "$pidfile"
}

# stop_pids PIDFILE PORT...: kill_pids, then wait until the ports are free.
# Without a pid file nothing of ours runs: a port held then belongs to
# someone else, and start will say so.
stop_pids() {
	local pidfile=$1
	shift
	[[ -f $pidfile ]] || return 0
	kill_pids "$pidfile"
	wait_ports_free 30 "$@"
}

# pids_alive PIDFILE: true if every pid listed is alive.
pids_alive() {
	local pid any=1
	[[ -f $1 ]] || return 1
	while read -r pid; do
		[[ -n $pid ]] || continue
		alive "$pid" || return 1
		any=0
	done <"$1"
	return $any
}

# log_tail FILE: the last lines of a log, for error messages.
log_tail() {
	[[ -f $1 ]] && tail -n 40 "$1" >&2
	return 0
}

# mvn_fetch POM DIR: copies the runtime dependencies of POM into DIR/lib,
# once. The Maven repository lives under .cache/m2 so that a fresh clone
# fetches once and later runs fetch nothing.
mvn_fetch() {
	local pom=$1 dir=$2
	[[ -f $dir/.complete ]] && return 0
	command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install -y maven)"
	command -v java >/dev/null || die "java not found: install a JDK 17 (apt-get install -y openjdk-17-jdk-headless)"
	log "fetching $(basename "$pom") dependencies into $dir"
	rm -rf "${dir:?}/lib"
	mkdir -p "$dir"
	if ! mvn -B -Dstyle.color=never -Dmaven.repo.local="$E2E_CACHE/m2" -f "$pom" \
		dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory="$dir/lib" >"$dir/mvn.log" 2>&1; then
		log_tail "$dir/mvn.log"
		die "maven could not fetch $pom (log: $dir/mvn.log)"
	fi
	touch "$dir/.complete"
}

# probe: builds (once per source change; go caches it) and runs the Go
# readiness probe that makes a real request to a service.
probe() {
	local bin="$E2E_STATE/bin/probe"
	if [[ ! -x $bin || -n $(find "$E2E_ROOT/e2e/probe" -newer "$bin" -name '*.go' 2>/dev/null) ]]; then
		(cd "$E2E_ROOT" && GOFLAGS=-buildvcs=false go build -o "$bin" ./e2e/probe) || die "build e2e/probe"
	fi
	"$bin" "$@"
}

# java_heap: the heap flags for an e2e JVM; E2E_JAVA_HEAP overrides.
java_heap() {
	echo "-Xms64m -Xmx${E2E_JAVA_HEAP:-384m} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.net.preferIPv4Stack=true"
}

# java_hive: java, the heap flags, and the JDK internals Java 17 closes but
# Hadoop, Hive and DataNucleus reach into (the metastore and e2e/hiveql).
java_hive() {
	echo "java $(java_heap)" \
		--add-opens=java.base/java.lang=ALL-UNNAMED \
		--add-opens=java.base/java.util=ALL-UNNAMED \
		--add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
		--add-opens=java.base/java.util.regex=ALL-UNNAMED \
		--add-opens=java.base/java.net=ALL-UNNAMED \
		--add-opens=java.base/java.nio=ALL-UNNAMED \
		--add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
		--add-opens=java.base/java.lang.reflect=ALL-UNNAMED \
		--add-opens=java.sql/java.sql=ALL-UNNAMED
}

# service_main NAME: dispatches start|stop|restart|status to the functions
# svc_start, svc_stop and svc_status the sourcing script defines.
service_main() {
	local name=$1 cmd=${2:-}
	case $cmd in
	start) svc_start ;;
	stop) svc_stop ;;
	restart)
		svc_stop
		svc_start
		;;
	status)
		if svc_status; then
			echo "$name: running"
		else
			echo "$name: stopped"
			return 1
		fi
		;;
	*)
		echo "usage: $0 start|stop|restart|status" >&2
		return 2
		;;
	esac
}

# need_openssl: installs Debian's openssl when it is missing (the secured
# services make their certificates with it at start).
need_openssl() {
	command -v openssl >/dev/null && return 0
	log "installing openssl from Debian"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null || die "apt-get install openssl"
}

# make_test_certs DIR: once per run, a CA (ca.pem) that signs a server
# certificate for localhost and 127.0.0.1 (server.pem, server-key.pem) and
# a client certificate (client.pem, client-key.pem, CN landfall), plus a
# second CA that signed none of them (stranger-ca.pem), for the tests that
# must not trust the servers. RSA 2048, PKCS#8 keys, valid for 2 days.
make_test_certs() {
	local dir=$1
	[[ -f $dir/.complete ]] && return 0
	need_openssl
	rm -rf "$dir"
	mkdir -p "$dir"
	(
		cd "$dir"
		umask 077
		for ca in ca stranger-ca; do
			openssl req -x509 -newkey rsa:2048 -nodes -keyout "$ca-key.pem" -out "$ca.pem" -days 2 \
				-subj "/CN=landfall e2e $ca" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
		done
		for who in server:localhost client:landfall; do
			local name=${who%%:*} cn=${who#*:}
			openssl req -newkey rsa:2048 -nodes -keyout "$name-key.pem" -out "$name.csr" -subj "/CN=$cn"
			printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >"$name.ext"
			openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile "$name.ext" -out "$name.pem"
		done
		chmod 644 ./*.pem
	) >"$dir/openssl.log" 2>&1 || { log_tail "$dir/openssl.log"; die "openssl could not make the test certificates"; }
	touch "$dir/.complete"
}
