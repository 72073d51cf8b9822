//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/internal/testenv"
)

// sparkTable is one table of TestSparkReadsLandfallTables and what Spark
// must find in it.
type sparkTable struct {
	name, format, extra string
	tb                  *table
	want                map[string]int // partition directory → rows
	id, idDir           string         // a record and its partition, for the id filter
	inRange             int            // records with ts in [tsFrom, tsTo)
}

type sparkResult struct {
	Spark       string `json:"spark"`
	JVMZone     string `json:"jvm_zone"`
	SessionZone string `json:"session_zone"`
	Tables      map[string]struct {
		Groups         [][]any  `json:"groups"`
		IDRows         [][]any  `json:"id_rows"`
		TSRange        []int    `json:"ts_range"`
		TSOffPartition []any    `json:"ts_off_partition"`
		TSMinMax       []string `json:"ts_min_max"`
	} `json:"tables"`
}

// TestSparkReadsLandfallTables lands the same kind of stream into an ORC
// table (ts a timestamp, a bloom filter on id), a text+lzo table read with
// plain TextInputFormat and a text table, each created by real Hive from
// landfall hive ddl, partitioned in Asia/Shanghai, with late records
// appended after their partition's commit. Then Spark (pyspark, its
// defaults apart from the metastore URI and the LZO codec) reads the three
// through the metastore, once with its JVM in UTC and once in
// Asia/Shanghai: per partition, count(*) and count(DISTINCT id) must be
// the records produced into it (nothing of _invalid/, _late/, .landfall/,
// no sidecar read as rows, every lzop block readable with aircompressor's
// default buffer), a filter on id must find its one row, one on a ts range
// its records, and every ORC ts must show its partition's date and hour.
func TestSparkReadsLandfallTables(t *testing.T) {
	root := testenv.RepoRoot(t)
	python := filepath.Join(root, ".cache", "pyspark-venv", "bin", "python3")
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("pyspark: %v (e2e/run.sh installs it with e2e/deps/e2e-pyspark.sh)", err)
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	tables := []*sparkTable{
		{name: "orc", format: "orc", extra: "  schema: \"struct<ts:timestamp,id:string,level:string,service:string,status:int,latency_ms:bigint>\"\n  bloom_filter_columns: [id]\n"},
		{name: "lzo", format: "lzo", extra: "  lzo_input_format: text\n"},
		{name: "text", format: "text"},
	}
	const records = 3000
	h0 := time.Now().Truncate(time.Hour).Add(-8 * time.Hour) // whole hours in Shanghai too
	tsFrom, tsTo := h0.Add(time.Hour), h0.Add(150*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var procs []*landfall
	for _, st := range tables {
		st.tb = newTable(t, 2, tableConfig{format: st.format, metastore: true, ddl: true, timezone: "Asia/Shanghai", formatExtra: st.extra})
		// 3000 records over 5 hours, produced before landfall starts: a
		// backlog whose late records (loggen: 2–6 h behind) arrive after
		// their hour was committed and are appended to it.
		if _, err := st.tb.produce(ctx, records, h0, 6*time.Second); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, st.tb.start("a"))
	}
	for _, st := range tables {
		st.tb.waitDrained(3 * time.Minute)
		st.tb.waitCommitted(t, nil, true, 3*time.Minute)
	}
	// Late records for an hour committed by now: appended to it and
	// re-committed (late.policy: append), which must rewrite its _SUCCESS.
	lateAt := h0.Add(90 * time.Minute)
	for _, st := range tables {
		if _, err := st.tb.produce(ctx, 50, lateAt, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	for i, st := range tables {
		st.tb.waitDrained(3 * time.Minute)
		waitRecommitted(t, st.tb, zoneHourDir(lateAt, shanghai), 2*time.Minute)
		procs[i].stop(t)
		l := st.tb.verify(nil)
		st.want = map[string]int{}
		st.tb.mu.Lock()
		if len(st.tb.maybe) > 0 {
			t.Fatalf("%s: %d records of failed produce calls", st.name, len(st.tb.maybe))
		}
		ids := make([]string, 0, len(st.tb.produced))
		for id, kind := range st.tb.produced {
			if kind == loggen.Malformed || len(l.invalid[id]) > 0 {
				continue
			}
			ids = append(ids, id)
			et := st.tb.eventAt[id]
			st.want[zoneHourDir(et, shanghai)]++
			if !et.Before(tsFrom) && et.Before(tsTo) {
				st.inRange++
			}
		}
		sort.Strings(ids)
		st.id = ids[len(ids)/2]
		st.idDir = zoneHourDir(st.tb.eventAt[st.id], shanghai)
		st.tb.mu.Unlock()
		if st.format == "lzo" {
			// Nothing but data and _SUCCESS in the partitions: a sidecar
			// would be read as rows by TextInputFormat.
			if err := st.tb.walk("", func(rel string, _ os.FileInfo) error {
				if strings.HasSuffix(rel, ".index") {
					return fmt.Errorf("%s: an lzo table read with TextInputFormat holds a sidecar", rel)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}

	var spec struct {
		Metastore        string           `json:"metastore"`
		MetastoreVersion string           `json:"metastore_version"`
		MetastoreJars    string           `json:"metastore_jars"`
		Tables           []map[string]any `json:"tables"`
	}
	spec.Metastore = endpoint(t, "LANDFALL_E2E_HMS")
	// The e2e metastore is Hive 4's, which Spark's built-in Hive 2.3 client
	// can't call (get_table is gone): Spark talks to it with Hive 4.0.1's
	// client jars, those e2e/hiveql fetched.
	cache := os.Getenv("E2E_CACHE")
	if cache == "" {
		cache = filepath.Join(root, ".cache")
	}
	libs, _ := filepath.Glob(filepath.Join(cache, "hiveql-4.0.1-*", "lib"))
	if len(libs) == 0 {
		t.Fatalf("no Hive 4.0.1 jars under %s/hiveql-4.0.1-*/lib (e2e/run.sh fetches them with e2e/hiveql/run.sh --fetch)", cache)
	}
	spec.MetastoreVersion, spec.MetastoreJars = "4.0.1", "file://"+libs[len(libs)-1]+"/*.jar"
	for _, st := range tables {
		m := map[string]any{"name": st.name, "table": st.tb.hiveDB + "." + hiveTable, "id": st.id, "columns": "line",
			"ts_from": tsFrom.UnixMilli(), "ts_to": tsTo.UnixMilli()}
		if st.format == "orc" {
			m["columns"], m["ts_from"], m["ts_to"] = "orc", tsFrom.In(shanghai).Format(time.DateTime), tsTo.In(shanghai).Format(time.DateTime)
		}
		spec.Tables = append(spec.Tables, m)
	}
	specPath := filepath.Join(tables[0].tb.workdir, "spark-spec.json")
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(specPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, zone := range []string{"UTC", "Asia/Shanghai"} {
		res := runSpark(t, python, filepath.Join(root, "e2e", "spark", "query.py"), specPath, zone, tables[0].tb.workdir)
		if res.JVMZone != zone || res.SessionZone != zone {
			t.Errorf("Spark %s ran in JVM zone %s, session zone %s; want %s", res.Spark, res.JVMZone, res.SessionZone, zone)
		}
		for _, st := range tables {
			r, ok := res.Tables[st.name]
			if !ok {
				t.Fatalf("%s: no result for table %s", zone, st.name)
			}
			got := map[string]int{}
			for _, g := range r.Groups {
				dir := fmt.Sprintf("log_date=%v/log_hour=%v", g[0], g[1])
				rows, distinct := int(g[2].(float64)), int(g[3].(float64))
				if rows != distinct {
					t.Errorf("%s, JVM in %s: %s has %d rows but %d distinct ids", st.name, zone, dir, rows, distinct)
				}
				got[dir] = rows
			}
			if fmt.Sprint(sortedCounts(got)) != fmt.Sprint(sortedCounts(st.want)) {
				t.Errorf("%s, JVM in %s: Spark counts per partition\n%v\nwant the records produced\n%v", st.name, zone, sortedCounts(got), sortedCounts(st.want))
			}
			if len(r.IDRows) != 1 || fmt.Sprintf("log_date=%v/log_hour=%v", r.IDRows[0][0], r.IDRows[0][1]) != st.idDir || r.IDRows[0][2].(float64) != 1 {
				t.Errorf("%s, JVM in %s: WHERE id = '%s' found %v, want one row in %s", st.name, zone, st.id, r.IDRows, st.idDir)
			}
			if len(r.TSRange) != 2 || r.TSRange[0] != st.inRange || r.TSRange[1] != st.inRange {
				t.Errorf("%s, JVM in %s: ts in [%s, %s) Shanghai: %v rows, want %d", st.name, zone, tsFrom.In(shanghai).Format(time.DateTime), tsTo.In(shanghai).Format(time.DateTime), r.TSRange, st.inRange)
			}
			if st.format == "orc" {
				if n := r.TSOffPartition[0].(float64); n != 0 {
					t.Errorf("orc, JVM in %s: %v rows whose ts shows another hour than their log_date/log_hour (ts from %v to %v)", zone, n, r.TSOffPartition[1], r.TSOffPartition[2])
				}
				t.Logf("orc, JVM in %s: ts from %v to %v", zone, r.TSMinMax[0], r.TSMinMax[1])
			}
		}
		t.Logf("Spark %s, JVM in %s: every table read as produced", res.Spark, zone)
	}
}

// runSpark runs query.py with the JVM (and Python) in zone.
func runSpark(t *testing.T, python, script, spec, zone, dir string) sparkResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, spec)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TZ="+zone, "JAVA_TOOL_OPTIONS=-Duser.timezone="+zone+" -Xmx768m", "PYSPARK_PYTHON="+python)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := cmd.Run()
	logPath := filepath.Join(dir, "spark-"+strings.ReplaceAll(zone, "/", "_")+".log")
	_ = os.WriteFile(logPath, stderr.Bytes(), 0o644)
	if err != nil {
		t.Fatalf("spark in %s: %v (log %s)\n%s", zone, err, logPath, lastBytes(stderr.String(), 4000))
	}
	t.Logf("spark in %s took %s", zone, time.Since(t0).Round(time.Second))
	var res sparkResult
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("spark in %s printed %q: %v", zone, stdout.String(), err)
	}
	return res
}

// waitRecommitted waits until the _SUCCESS of dir names an update (a
// re-commit after late records), as JSON of its commit.
func waitRecommitted(t *testing.T, tb *table, dir string, within time.Duration) {
	t.Helper()
	rel := dir + "/_SUCCESS"
	var body []byte
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if r, err := tb.fs.Open(rel); err == nil {
			body, err = io.ReadAll(r)
			r.Close()
			var m committer.SuccessMarker
			if err == nil && json.Unmarshal(body, &m) == nil && m.Update && m.Partition == dir && m.CommitKey != "" {
				t.Logf("%s: %s", rel, strings.TrimSpace(string(body)))
				return
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("%s holds %q after %v, want the JSON of a re-commit (update) after late records", rel, body, within)
}

// zoneHourDir is the partition directory of an event time under the
// default pattern, in loc.
func zoneHourDir(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return fmt.Sprintf("log_date=%s/log_hour=%02d", t.Format("20060102"), t.Hour())
}

func sortedCounts(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for d, n := range m {
		out = append(out, fmt.Sprintf("%s:%d", d, n))
	}
	sort.Strings(out)
	return out
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
