package compactor

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/internal/testenv"
	"github.com/landfall/landfall/writer/orc"
)

// The interoperability helpers run Apache ORC's tools and pyarrow, which
// `make test-deps` installs; a missing tool fails the test, because
// skipping would hide what these tests exist to find.

const testSchema = "struct<id:bigint,small:int,name:string,req:string,score:double,ok:boolean," +
	"amount:decimal(10,2),day:date,ts:timestamp,tags:array<string>,raw:binary>"

// genRows makes n JSON records for testSchema, with nulls in every column
// but id, from seed; ids start at first so that rows are recognizable.
func genRows(n int, first int64, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	rows := make([][]byte, n)
	null := func(v string) string {
		if rng.IntN(13) == 0 {
			return "null"
		}
		return v
	}
	for i := range rows {
		id := first + int64(i)
		tags := make([]string, rng.IntN(4))
		for j := range tags {
			tags[j] = fmt.Sprintf("%q", fmt.Sprintf("t%d", rng.IntN(20)))
		}
		rows[i] = fmt.Appendf(nil, `{"id":%d,"small":%s,"name":%s,"req":%s,"score":%s,"ok":%s,"amount":%s,"day":%s,"ts":%s,"tags":%s,"raw":%s}`,
			id,
			null(fmt.Sprint(rng.IntN(2000)-1000)),
			null(fmt.Sprintf("%q", []string{"alpha", "beta", "gamma", "delta", "é-unicode"}[rng.IntN(5)])),
			null(fmt.Sprintf(`"req-%08d"`, id)),
			null(fmt.Sprintf("%.3f", rng.Float64()*1e4-5e3)),
			null([]string{"true", "false"}[rng.IntN(2)]),
			null(fmt.Sprintf("%d.%02d", rng.IntN(100000)-50000, rng.IntN(100))),
			null(fmt.Sprintf(`"2026-%02d-%02d"`, 1+rng.IntN(12), 1+rng.IntN(28))),
			null(fmt.Sprintf(`"2026-11-21 %02d:%02d:%02d.%06d"`, rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1000000))),
			null("["+strings.Join(tags, ",")+"]"),
			null(fmt.Sprintf("%q", base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("raw%d", id))))),
		)
	}
	return rows
}

func testORCSchema(t testing.TB) *orc.Type {
	t.Helper()
	s, err := orc.ParseSchema(testSchema)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// orcOpts are the writer settings of the test files: small stripes and
// row groups so that a few thousand rows make several of each, and a bloom
// filter on req.
func orcOpts(extra ...orc.Option) []orc.Option {
	return append([]orc.Option{orc.WithStripeSize(64 << 10), orc.WithRowIndexStride(500), orc.WithBloomFilters(0.01, "req")}, extra...)
}

func writeORC(t testing.TB, rows [][]byte, meta map[string]string, opts ...orc.Option) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := orc.NewWriter(&buf, testORCSchema(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Append(r); err != nil {
			t.Fatalf("append %s: %v", r, err)
		}
	}
	if err := w.Close(meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func orcToolsJar(t testing.TB) string {
	matches, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(t), ".cache", "orc-tools", "orc-tools-*-uber.jar"))
	if len(matches) == 0 {
		t.Fatal("Apache ORC tools jar not found under .cache/orc-tools: run `make test-deps`")
	}
	if _, err := exec.LookPath("java"); err != nil {
		t.Fatal("java is not on PATH: run `make test-deps` (and install a JRE)")
	}
	return matches[len(matches)-1]
}

func runOrcTools(t testing.TB, args ...string) []byte {
	t.Helper()
	full := append([]string{"-Duser.timezone=UTC", "-Xmx512m", "-XX:TieredStopAtLevel=1", "-jar", orcToolsJar(t)}, args...)
	cmd := exec.Command("java", full...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("orc-tools %s: %v\n%s", args[0], err, stderr.String())
	}
	return out
}

// javaRows splits `orc-tools data f1 f2 …` output into each file's rows.
func javaRows(t testing.TB, out []byte, files int) [][]string {
	t.Helper()
	var all [][]string
	var cur []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		switch line := sc.Text(); {
		case strings.HasPrefix(line, "{"):
			cur = append(cur, line)
		case strings.HasPrefix(line, "____"):
			all = append(all, cur)
			cur = nil
		}
	}
	if cur != nil || len(all) != files {
		all = append(all, cur)
	}
	if len(all) != files {
		t.Fatalf("orc-tools data printed %d files, want %d", len(all), files)
	}
	return all
}

const pyarrowDump = `
import sys, json, decimal, datetime
import pyarrow.orc as po
def conv(v):
    if isinstance(v, bytes): return v.hex()
    if isinstance(v, decimal.Decimal): return format(v, 'f')
    if isinstance(v, (datetime.date, datetime.datetime)): return v.isoformat()
    if isinstance(v, dict): return {k: conv(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)): return [conv(x) for x in v]
    return v
for path in sys.argv[1:]:
    for row in po.read_table(path).to_pylist():
        print(json.dumps(conv(row), ensure_ascii=False, sort_keys=True))
    print("=====")
`

func runPyarrow(t testing.TB, files ...string) [][]string {
	t.Helper()
	cmd := exec.Command(testenv.Python3(t), append([]string{"-c", pyarrowDump}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pyarrow (run `make test-deps`): %v\n%s", err, stderr.String())
	}
	var all [][]string
	var cur []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if sc.Text() == "=====" {
			all = append(all, cur)
			cur = nil
			continue
		}
		cur = append(cur, sc.Text())
	}
	if len(all) != len(files) {
		t.Fatalf("pyarrow printed %d files, want %d", len(all), len(files))
	}
	return all
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
