package orc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/landfall/landfall/internal/testenv"
	"github.com/landfall/landfall/writer/orc/spec"
)

// These tests read the files this package writes with Apache ORC itself
// (the orc-tools uber jar, Java) and with pyarrow (Apache ORC's C++ reader),
// and compare every value. The tools are installed by `make test-deps`; a
// missing tool fails the test, because skipping would hide exactly the
// incompatibilities these tests exist to find.

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

// runOrcTools runs one orc-tools command; the JVM is told UTC so that
// timestamps print as the wall clock the files store.
func runOrcTools(t testing.TB, args ...string) []byte {
	jar := orcToolsJar(t)
	full := append([]string{"-Duser.timezone=UTC", "-Xmx512m", "-XX:TieredStopAtLevel=1", "-jar", jar}, args...)
	cmd := exec.Command("java", full...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("orc-tools %s: %v\n%s", args[0], err, tail(stderr.String(), 3000))
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// javaRows splits `orc-tools data f1 f2 ...` output into each file's rows.
func javaRows(t testing.TB, out []byte, files int) [][]string {
	var all [][]string
	var cur []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "{"):
			cur = append(cur, line)
		case strings.HasPrefix(line, "____"):
			all = append(all, cur)
			cur = nil
		}
	}
	if len(all) != files {
		t.Fatalf("orc-tools data printed %d files, want %d", len(all), files)
	}
	return all
}

const pyarrowDump = `
import sys, json, decimal, datetime
import pyarrow as pa, pyarrow.orc as po

def fix(t):
    if pa.types.is_timestamp(t): return pa.int64()
    if pa.types.is_struct(t): return pa.struct([pa.field(f.name, fix(f.type)) for f in t])
    if pa.types.is_map(t): return pa.map_(fix(t.key_type), fix(t.item_type))
    if pa.types.is_list(t): return pa.list_(fix(t.value_type))
    return t

def conv(v):
    if isinstance(v, bytes): return v.hex()
    if isinstance(v, decimal.Decimal): return format(v, 'f')
    if isinstance(v, datetime.date): return v.isoformat()
    if isinstance(v, dict): return {k: conv(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)): return [conv(x) for x in v]
    return v

for path in sys.argv[1:]:
    t = po.read_table(path)
    t = t.cast(pa.schema([pa.field(f.name, fix(f.type)) for f in t.schema]))
    for row in t.to_pylist():
        print(json.dumps(conv(row), ensure_ascii=False))
    print("=====")
`

func runPyarrow(t testing.TB, files ...string) [][]string {
	python := testenv.Python3(t)
	if err := exec.Command(python, "-c", "import pyarrow.orc").Run(); err != nil {
		t.Fatalf("%s can't import pyarrow.orc: run `make test-deps`", python)
	}
	cmd := exec.Command(python, append([]string{"-c", pyarrowDump}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pyarrow: %v\n%s", err, tail(stderr.String(), 3000))
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

type canonFunc func(*Type, any) (string, error)

// compareRows checks a reader's JSON rows against the canonical rows.
func compareRows(t testing.TB, who, file string, schema *Type, got []string, want []string, canon canonFunc) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s %s: %d rows, want %d", who, file, len(got), len(want))
		return
	}
	bad := 0
	for i, line := range got {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s %s row %d: %v", who, file, i, err)
		}
		c, err := canon(schema, v)
		if err != nil {
			t.Errorf("%s %s row %d: %v in %s", who, file, i, err, tail(line, 400))
			bad++
		} else if c != want[i] {
			t.Errorf("%s %s row %d:\n got  %s\n want %s", who, file, i, tail(c, 600), tail(want[i], 600))
			bad++
		}
		if bad >= 5 {
			t.Fatalf("%s %s: stopping after %d mismatches", who, file, bad)
		}
	}
}

type writtenFile struct {
	path   string
	schema *Type
	rows   []string // canonical
	comp   spec.CompressionKind
}

func writeRandomFile(t testing.TB, path, schemaStr string, seed uint64, rows int, opts ...Option) writtenFile {
	t.Helper()
	schema, err := ParseSchema(schemaStr)
	if err != nil {
		t.Fatalf("schema %s: %v", schemaStr, err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(f, schema, opts...)
	if err != nil {
		t.Fatal(err)
	}
	g := newGen(seed)
	canon := make([]string, 0, rows)
	for i := 0; i < rows; i++ {
		js, c := g.record(schema)
		if err := w.Append([]byte(js)); err != nil {
			t.Fatalf("append %s: %v", js, err)
		}
		canon = append(canon, c)
	}
	if err := w.Close(map[string]string{"landfall.test": "yes"}); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return writtenFile{path: path, schema: schema, rows: canon, comp: w.o.compression}
}

const allTypesSchema = "struct<b:boolean,t:tinyint,s:smallint,i:int,l:bigint,f:float,d:double," +
	"str:string,low:string,vc:varchar(5),c:char(4),bin:binary,ts:timestamp,dt:date," +
	"dec:decimal(10,2),big:decimal(38,6),st:struct<x:int,y:string,z:array<double>>," +
	"li:array<int>,m:map<string,string>,mi:map<int,struct<a:bigint,b:timestamp>>>"

func TestInteropAllTypes(t *testing.T) {
	dir := t.TempDir()
	var files []writtenFile
	for i, comp := range []spec.CompressionKind{spec.CompressionNone, spec.CompressionZlib, spec.CompressionZstd} {
		path := filepath.Join(dir, comp.String()+".orc")
		// A small stripe size gives several stripes, and 25,000 rows three
		// row groups per stripe boundary case.
		files = append(files, writeRandomFile(t, path, allTypesSchema, uint64(100+i), 25000,
			WithCompression(comp, 0), WithStripeSize(2<<20), WithBlockSize(64<<10)))
	}
	checkWithTools(t, files)
}

func TestInteropRandomSchemas(t *testing.T) {
	dir := t.TempDir()
	g := newGen(42)
	var files []writtenFile
	comps := []spec.CompressionKind{spec.CompressionNone, spec.CompressionZlib, spec.CompressionZstd, spec.CompressionSnappy, spec.CompressionLZ4}
	for i := 0; i < 16; i++ {
		schema := randomStruct(g.rng, 0, 1+g.rng.IntN(6))
		comp := comps[i%len(comps)]
		opts := []Option{
			WithCompression(comp, 0),
			WithRowIndexStride(50 + g.rng.IntN(2000)),
			WithBlockSize(1024 << g.rng.IntN(8)),
			WithStripeSize(64<<10 + g.rng.IntN(1<<20)),
			WithDictionaryThreshold([]float64{0, 0.5, 0.8, 1}[g.rng.IntN(4)]),
		}
		path := filepath.Join(dir, fmt.Sprintf("random%02d.orc", i))
		files = append(files, writeRandomFile(t, path, schema, uint64(i), 1+g.rng.IntN(6000), opts...))
	}
	checkWithTools(t, files)
}

func checkWithTools(t *testing.T, files []writtenFile) {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.path
	}
	java := javaRows(t, runOrcTools(t, append([]string{"data"}, paths...)...), len(files))
	for i, f := range files {
		compareRows(t, "orc-tools", filepath.Base(f.path)+" "+f.schema.String(), f.schema, java[i], f.rows, canonJava)
	}
	meta := string(runOrcTools(t, append([]string{"meta"}, paths...)...))
	for _, f := range files {
		want := fmt.Sprintf("Rows: %d\nCompression: %s\n", len(f.rows), f.comp)
		if !strings.Contains(meta, want) {
			t.Errorf("orc-tools meta of %s lacks %q", filepath.Base(f.path), want)
		}
	}
	if strings.Contains(meta, "Exception") {
		t.Errorf("orc-tools meta reported an exception:\n%s", tail(meta, 2000))
	}
	arrow := runPyarrow(t, paths...)
	for i, f := range files {
		compareRows(t, "pyarrow", filepath.Base(f.path)+" "+f.schema.String(), f.schema, arrow[i], f.rows, canonArrow)
	}
}

// TestInteropBloomFilters asks Apache ORC's own bloom filter code (orc-tools
// check) about values of every row group: each value must "maybe exist" in
// its row group. A hash that differs from Java's in any detail would make
// predicate pushdown skip row groups that hold matching rows.
func TestInteropBloomFilters(t *testing.T) {
	schema, err := ParseSchema("struct<s:string,i:bigint,d:double,ts:timestamp,dt:date,dec:decimal(10,2)>")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bloom.orc")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	const stride, rows = 1000, 3000
	w, err := NewWriter(f, schema, WithRowIndexStride(stride), WithBloomFilters(0, "s", "i", "d", "ts", "dt", "dec"))
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string][]string{}
	for r := 0; r < rows; r++ {
		s := fmt.Sprintf("user-%d-ü", r*7)
		i := int64(r)*1_000_003 - 1_500_000_000
		d := float64(r)*1.25 - 100
		ms := int64(1_700_000_000_000) + int64(r)*3_600_001
		dt := int64(19000 + r)
		dec := fmt.Sprintf("%d.%02d", r-1500, r%100)
		rec := fmt.Sprintf(`{"s":%q,"i":%d,"d":%v,"ts":%d,"dt":%d,"dec":%q}`, s, i, d, ms, dt, dec)
		if err := w.Append([]byte(rec)); err != nil {
			t.Fatal(err)
		}
		if r%stride%97 == 0 { // a sample of each row group
			vals["s"] = append(vals["s"], s)
			vals["i"] = append(vals["i"], fmt.Sprint(i))
			vals["d"] = append(vals["d"], strconv.FormatFloat(d, 'g', -1, 64))
			vals["ts"] = append(vals["ts"], fmt.Sprint(ms))
			vals["dt"] = append(vals["dt"], fmt.Sprint(dt))
			d, _ := parseDecimal([]byte(dec), 10, 2)
			vals["dec"] = append(vals["dec"], decimalString(d, 2))
		}
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for col, vs := range vals {
		args := []string{"check", path, "--type", "bloom-filter", "--column", col}
		for _, v := range vs {
			args = append(args, "--values", v)
		}
		out := string(runOrcTools(t, args...))
		for k, v := range vs {
			group := k / ((stride + 96) / 97)
			want := fmt.Sprintf("stripe: 0, rowIndex: %d, value: %s, bloom filter: maybe exist", group, v)
			if !strings.Contains(out, want) {
				t.Errorf("column %s: Apache ORC's bloom filter check lacks %q", col, want)
			}
		}
	}
}
