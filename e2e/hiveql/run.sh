#!/usr/bin/env bash
# Runs HiveQL statements with real Hive 4.0.1 (its Driver, as the Hive CLI
# would) against a metastore, without HiveServer2:
#
#   bash e2e/hiveql/run.sh thrift://127.0.0.1:PORT statements.sql
#
# The e2e tests create their tables with it from what `landfall hive ddl`
# prints, so that Hive itself, not landfall's metastore client, checks that
# the statement is valid and means what landfall meant.
#
# The jars (e2e/hiveql/pom.xml, Maven Central) are fetched once into
# ${E2E_CACHE:-<repo>/.cache}/hiveql-4.0.1-<pom hash>. Statements are echoed
# to stderr; what they return (DESCRIBE, SHOW) goes to stdout. The first
# failing statement stops the run: exit status 1 and Hive's message on
# stderr (2 for bad usage, 124 if the JVM ran out of HIVEQL_TIMEOUT).
#
# Environment: HIVEQL_TIMEOUT (seconds, default 300), E2E_JAVA_HEAP (default
# 384m; at most 512m is meant), E2E_CACHE.
set -euo pipefail
HIVEQL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=e2e/services/lib.sh
source "$HIVEQL_DIR/../services/lib.sh"

HIVE_VERSION=4.0.1
POM="$HIVEQL_DIR/pom.xml"
# The cache is keyed by the pom's content, so editing the pom fetches anew.
HIVEQL_HOME="$E2E_CACHE/hiveql-$HIVE_VERSION-$(sha1sum "$POM" | cut -c1-8)"

# --fetch only fetches the jars (e2e/run.sh does it before the tests).
if [[ ${1:-} == --fetch ]]; then
	mvn_fetch "$POM" "$HIVEQL_HOME"
	exit 0
fi
if (($# != 2)); then
	echo "usage: $0 thrift://HOST:PORT statements.sql | $0 --fetch" >&2
	exit 2
fi
uri=$1
sql=$(realpath -- "$2") || die "no such file: $2"
[[ -r $sql ]] || die "cannot read $sql"
mvn_fetch "$POM" "$HIVEQL_HOME"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hiveql.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

read -ra JAVA <<<"$(java_hive)"
JAVA+=(
	-Djava.io.tmpdir="$tmp"
	-Dlog4j2.configurationFile="file:$HIVEQL_DIR/log4j2.properties"
	-cp "$HIVEQL_HOME/lib/*"
)

# Not exec: the trap removes the scratch directory afterwards. The JVM runs
# in the foreground (stdin closed), so a signal to this script reaches it.
rc=0
timeout --kill-after=10 "${HIVEQL_TIMEOUT:-300}" \
	"${JAVA[@]}" "$HIVEQL_DIR/RunHiveQL.java" "$uri" "$sql" </dev/null || rc=$?
if ((rc == 124)); then
	log "error: hive did not finish $sql within ${HIVEQL_TIMEOUT:-300}s"
fi
exit "$rc"
