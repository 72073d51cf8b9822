#!/usr/bin/env bash
# Self-test of e2e/hiveql/run.sh against a real metastore:
#
#   bash e2e/hiveql/selftest.sh [thrift://127.0.0.1:PORT]
#
# Without a URI it starts its own metastore (services/hms.sh) on
# ${HMS_PORT:-19183} with its state in a temporary directory, so it does not
# meet a running `make e2e` (19083, out/e2e), and stops it at the end.
#
# It creates a database and the ORC, text and lzo tables from what
# `landfall hive ddl` prints for each format, checks them through Hive
# (DESCRIBE FORMATTED) and through landfall's own metastore client
# (gettable.go), runs the same file again (IF NOT EXISTS), and checks that
# a statement Hive rejects fails the run with Hive's message. Locations are
# file:// under a temporary directory (the metastore need not reach HDFS).
set -euo pipefail
HIVEQL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HIVEQL_DIR/../.." && pwd)"

work=$(mktemp -d "${TMPDIR:-/tmp}/hiveql-selftest.XXXXXX")
own_hms=
cleanup() {
	if [[ -n $own_hms ]]; then
		E2E_STATE="$work/state" HMS_PORT="$HMS_PORT" bash "$ROOT/e2e/services/hms.sh" stop || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

fails=0
passes=0
ok() {
	passes=$((passes + 1))
	echo "ok: $*"
}
fail() {
	fails=$((fails + 1))
	echo "FAIL: $*"
}

uri=${1:-}
if [[ -z $uri ]]; then
	HMS_PORT=${HMS_PORT:-19183}
	own_hms=1
	E2E_STATE="$work/state" HMS_PORT="$HMS_PORT" bash "$ROOT/e2e/services/hms.sh" start
	uri=thrift://127.0.0.1:$HMS_PORT
fi

# A database name of its own, so that a metastore used before (or by the
# other tests) has nothing of it yet.
db="hiveql_$(date +%s)_$$"
(cd "$ROOT" && GOFLAGS=-buildvcs=false go build -o "$work/landfall" ./cmd/landfall)

{
	echo "-- made by e2e/hiveql/selftest.sh"
	echo "CREATE DATABASE IF NOT EXISTS \`$db\` LOCATION 'file://$work/$db.db';"
} >"$work/create.sql"
for f in orc text lzo; do
	cat >"$work/$f.yaml" <<YAML
logid: x
kafka: {brokers: ["127.0.0.1:9092"], topic: t}
etcd: {endpoints: ["127.0.0.1:2379"]}
warehouse: {uri: "file://$work/logs_$f"}
hive: {database: $db, table: logs_$f}
format: {name: $f, schema: "struct<ts:bigint,id:string>"}
event_time: {field: ts}
YAML
	"$work/landfall" hive ddl --config "$work/$f.yaml" >>"$work/create.sql"
done
for f in orc text lzo; do
	echo "DESCRIBE FORMATTED \`$db\`.\`logs_$f\`;"
done >"$work/describe.sql"

# timed CMD...: runs CMD, noting its wall time in $took.
timed() {
	local t0=$SECONDS rc=0
	"$@" || rc=$?
	took="$((SECONDS - t0)) s"
	return $rc
}

echo "--- create ($uri, database $db)"
if timed bash "$HIVEQL_DIR/run.sh" "$uri" "$work/create.sql" >"$work/create.out" 2>"$work/create.err"; then
	ok "create database and the orc, text and lzo tables ($took)"
else
	fail "create: exit $?"
	tail -n 30 "$work/create.err"
fi

echo "--- describe through Hive"
if timed bash "$HIVEQL_DIR/run.sh" "$uri" "$work/describe.sql" >"$work/describe.out" 2>"$work/describe.err"; then
	ok "describe formatted ($took)"
else
	fail "describe: exit $?"
	tail -n 30 "$work/describe.err"
fi
# Each table's section of the output, from its "# col_name" to the next.
section() {
	awk -v n="$1" '/^# col_name/ && prev !~ /^# Partition/ {k++} {prev=$0} k==n' "$work/describe.out"
}
expect_in() { # WHAT TEXT PATTERN...
	local what=$1 text=$2 p
	shift 2
	for p in "$@"; do
		if ! grep -Eq -- "$p" <<<"$text"; then
			fail "$what: no line matches /$p/"
			return
		fi
	done
	ok "$what"
}
common=('^ts[[:space:]]+bigint' '^id[[:space:]]+string' '^log_date[[:space:]]+string' '^log_hour[[:space:]]+string'
	'Table Type:[[:space:]]+EXTERNAL_TABLE' 'comment[[:space:]]+landed by landfall from Kafka topic t')
expect_in "hive: orc table" "$(section 1)" "${common[@]}" "Location:[[:space:]]+file:$work/logs_orc" \
	'SerDe Library:[[:space:]]+org.apache.hadoop.hive.ql.io.orc.OrcSerde' \
	'InputFormat:[[:space:]]+org.apache.hadoop.hive.ql.io.orc.OrcInputFormat' \
	'OutputFormat:[[:space:]]+org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat' 'orc.compress[[:space:]]+ZSTD'
expect_in "hive: text table" "$(section 2)" "${common[@]}" "Location:[[:space:]]+file:$work/logs_text" \
	'SerDe Library:[[:space:]]+org.apache.hive.hcatalog.data.JsonSerDe' \
	'InputFormat:[[:space:]]+org.apache.hadoop.mapred.TextInputFormat' \
	'OutputFormat:[[:space:]]+org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
expect_in "hive: lzo table" "$(section 3)" "${common[@]}" "Location:[[:space:]]+file:$work/logs_lzo" \
	'SerDe Library:[[:space:]]+org.apache.hive.hcatalog.data.JsonSerDe' \
	'InputFormat:[[:space:]]+com.hadoop.mapred.DeprecatedLzoTextInputFormat' \
	'OutputFormat:[[:space:]]+org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'

echo "--- the same tables through landfall's metastore client"
if (cd "$ROOT" && go run ./e2e/hiveql/gettable.go "$uri" "$db.logs_orc" "$db.logs_text" "$db.logs_lzo") >"$work/get.out" 2>&1; then
	tab=$'\t'
	want="$db.logs_orc${tab}EXTERNAL_TABLE${tab}org.apache.hadoop.hive.ql.io.orc.OrcInputFormat${tab}org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat${tab}org.apache.hadoop.hive.ql.io.orc.OrcSerde${tab}ts:bigint,id:string${tab}log_date:string,log_hour:string${tab}file:$work/logs_orc${tab}orc.compress=ZSTD
$db.logs_text${tab}EXTERNAL_TABLE${tab}org.apache.hadoop.mapred.TextInputFormat${tab}org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat${tab}org.apache.hive.hcatalog.data.JsonSerDe${tab}ts:bigint,id:string${tab}log_date:string,log_hour:string${tab}file:$work/logs_text${tab}orc.compress=
$db.logs_lzo${tab}EXTERNAL_TABLE${tab}com.hadoop.mapred.DeprecatedLzoTextInputFormat${tab}org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat${tab}org.apache.hive.hcatalog.data.JsonSerDe${tab}ts:bigint,id:string${tab}log_date:string,log_hour:string${tab}file:$work/logs_lzo${tab}orc.compress="
	if [[ $(cat "$work/get.out") == "$want" ]]; then
		ok "get_table: formats, serde, columns, partition keys, location"
	else
		fail "get_table:"
		diff <(echo "$want") "$work/get.out" || true
	fi
else
	fail "gettable.go"
	cat "$work/get.out"
fi

echo "--- the same file again"
if timed bash "$HIVEQL_DIR/run.sh" "$uri" "$work/create.sql" >/dev/null 2>"$work/again.err"; then
	ok "second run, IF NOT EXISTS ($took)"
else
	fail "second run: exit $?"
	tail -n 30 "$work/again.err"
fi

echo "--- statements Hive rejects"
expect_fail() { # NAME PATTERN SQL
	local name=$1 pattern=$2 rc=0
	printf '%s\n' "$3" >"$work/$name.sql"
	bash "$HIVEQL_DIR/run.sh" "$uri" "$work/$name.sql" >/dev/null 2>"$work/$name.err" || rc=$?
	if ((rc == 0)); then
		fail "$name: exit 0"
	elif ! grep -q -- "$pattern" "$work/$name.err"; then
		fail "$name: exit $rc without /$pattern/ on stderr"
		tail -n 20 "$work/$name.err"
	else
		ok "$name: exit $rc, $(grep -m1 -o -- "$pattern.*" "$work/$name.err" | cut -c1-100)"
	fi
}
expect_fail syntax "ParseException" \
	"CREATE EXTERNAL TABLE \`$db\`.\`bad\` (\`ts\` bigint,) STORED AS ORC;"
expect_fail serde "Cannot validate serde" \
	"CREATE EXTERNAL TABLE \`$db\`.\`bad\` (\`ts\` bigint) ROW FORMAT SERDE 'no.such.Serde' STORED AS TEXTFILE LOCATION 'file://$work/bad';"
expect_fail exists "AlreadyExistsException" \
	"CREATE EXTERNAL TABLE \`$db\`.\`logs_orc\` (\`ts\` bigint) STORED AS ORC LOCATION 'file://$work/logs_orc';"
expect_fail nodb "does not exist" \
	"CREATE EXTERNAL TABLE \`no_such_db_$$\`.\`t\` (\`ts\` bigint) STORED AS ORC LOCATION 'file://$work/x';"

echo "$passes passed, $fails failed"
((fails == 0))
