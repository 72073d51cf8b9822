#!/usr/bin/env bash
# make e2e: starts Apache Kafka, Hadoop HDFS, etcd (and the Hive metastore,
# when e2e/services/hms.sh exists) on loopback from a clean state, runs the
# e2e tests against them, and stops everything whatever happens.
#
#   E2E_RUN=TestHDFS bash e2e/run.sh   only the tests matching a -run pattern
#   E2E_KEEP=1 bash e2e/run.sh         leave the services up afterwards
#   E2E_SERVICES="etcd kafka" bash …   start only these services
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export E2E_STATE="${E2E_STATE:-$ROOT/out/e2e}"
# shellcheck source=e2e/services/lib.sh
source e2e/services/lib.sh

SERVICES=(etcd kafka hdfs)
[[ -f e2e/services/hms.sh ]] && SERVICES+=(hms)
# The secured pair (secure_test.go): TLS+RBAC etcd and a SASL_SSL broker.
SERVICES+=(etcd-secure kafka-secure)
# Kerberos (kerberos_test.go): an MIT KDC with a Kerberized NameNode and
# DataNode, then the Kerberized metastore on them (hms_krb_test.go).
SERVICES+=(hdfs-krb hms-krb)
# E2E_SERVICES="etcd kafka hdfs" starts only those (make bench-broker).
if [[ -n ${E2E_SERVICES:-} ]]; then
	read -r -a SERVICES <<<"$E2E_SERVICES"
fi

stop_all() {
	local i
	for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
		timeout 120 bash "e2e/services/${SERVICES[i]}.sh" stop || log "stopping ${SERVICES[i]} failed"
	done
}

# shellcheck disable=SC2317 # called by the EXIT trap
teardown() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ ${E2E_KEEP:-} == 1 ]]; then
		log "E2E_KEEP=1: services left running; stop them with: for s in ${SERVICES[*]}; do bash e2e/services/\$s.sh stop; done"
	else
		log "stopping services"
		stop_all
	fi
	log "e2e finished in $((SECONDS - START))s with exit code $rc"
	exit "$rc"
}

START=$SECONDS
trap teardown EXIT
trap 'exit 130' INT TERM

# What the scripts need from the machine; Java and Maven normally are there.
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
	log "installing a JDK and Maven"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
fi

# A run starts from empty services: stop leftovers of an aborted run, then
# drop their data (downloads stay cached under .cache/).
stop_all
rm -rf "${E2E_STATE:?}"/{etcd,kafka,hdfs,hms,etcd-secure,kafka-secure,certs,hdfs-krb,hms-krb} "$E2E_STATE"/*.env "$E2E_STATE"/*.log "$E2E_STATE"/*.pid "$E2E_STATE/tests"
mkdir -p "$E2E_STATE/tests"

log "building bin/landfall"
go build -o bin/landfall ./cmd/landfall

# Real Hive, to run the DDL landfall prints (fetched once, then cached).
bash e2e/hiveql/run.sh --fetch
# Spark (pyspark from PyPI, into .cache/pyspark-venv), which reads the
# tables through the metastore in spark_test.go.
bash e2e/deps/e2e-pyspark.sh

for s in "${SERVICES[@]}"; do
	t0=$SECONDS
	bash "e2e/services/$s.sh" start
	log "$s started in $((SECONDS - t0))s"
done

for s in "${SERVICES[@]}"; do
	# shellcheck disable=SC1090
	source "$E2E_STATE/$s.env"
done
export LANDFALL_E2E_BIN="$ROOT/bin/landfall"
export LANDFALL_E2E_WORKDIR="$E2E_STATE/tests"

# ./e2e/... and every other package with tests behind the e2e build tag
# (the hive package's metastore test, for one).
mapfile -t PKGS < <({
	echo ./e2e/...
	grep -rl --include='*_test.go' '^//go:build e2e' . | grep -v '^\./e2e/' | xargs -r -n1 dirname
} | sort -u)
log "running the e2e tests in ${PKGS[*]}"
go test -count=1 -p 1 -tags e2e -timeout 25m ${E2E_RUN:+-run "$E2E_RUN"} -v "${PKGS[@]}" 2>&1 | tee "$E2E_STATE/go-test.log"
exit "${PIPESTATUS[0]}"
