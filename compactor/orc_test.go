package compactor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/landfall/landfall/writer/orc"
	"github.com/landfall/landfall/writer/orc/reader"
	"github.com/landfall/landfall/writer/orc/spec"
)

func openORC(t testing.TB, b []byte) *reader.File {
	t.Helper()
	f, err := reader.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// readValues reads every row with the project's reader, as printed Go values.
func readValues(t testing.TB, b []byte) []string {
	t.Helper()
	rs, err := openORC(t, b).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		out = append(out, fmt.Sprintf("%v", rs.Value()))
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mergeORCBytes(t testing.TB, srcs [][]byte, opts ...Option) ([]byte, Result) {
	t.Helper()
	ss := make([]Source, len(srcs))
	for i, s := range srcs {
		ss[i] = bytes.NewReader(s)
	}
	var out bytes.Buffer
	res, err := MergeORC(context.Background(), &out, ss, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != int64(out.Len()) {
		t.Fatalf("result size %d, wrote %d", res.Size, out.Len())
	}
	return out.Bytes(), res
}

// splitRows writes rows as len(cuts)+1 ORC files cut at cuts, each with
// its Kafka offsets (partition 0, offset = row index) in its metadata.
func splitRows(t testing.TB, rows [][]byte, cuts []int, opts ...orc.Option) [][]byte {
	t.Helper()
	var files [][]byte
	prev := 0
	for _, c := range append(slices.Clone(cuts), len(rows)) {
		meta := map[string]string{"landfall.logid": "clicks"}
		if c > prev {
			meta[OffsetsKey] = fmt.Sprintf("0:%d-%d", prev, c-1)
		}
		files = append(files, writeORC(t, rows[prev:c], meta, opts...))
		prev = c
	}
	return files
}

// statsComparable drops what legitimately differs between a merged file
// and one written in one go: BytesOnDisk (other stripes), and double sums
// beyond rounding (added part by part), which it checks with a tolerance.
func statsComparable(t testing.TB, col int, got, want spec.ColumnStatistics) {
	t.Helper()
	got.BytesOnDisk, want.BytesOnDisk = nil, nil
	if got.Double != nil && want.Double != nil && got.Double.Sum != nil && want.Double.Sum != nil {
		g, w := *got.Double.Sum, *want.Double.Sum
		if math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
			t.Errorf("column %d: double sum %v, want %v", col, g, w)
		}
		got.Double = &spec.DoubleStatistics{Minimum: got.Double.Minimum, Maximum: got.Double.Maximum}
		want.Double = &spec.DoubleStatistics{Minimum: want.Double.Minimum, Maximum: want.Double.Maximum}
	}
	if !bytes.Equal(spec.Marshal(&got), spec.Marshal(&want)) {
		t.Errorf("column %d statistics:\n got  %s\n want %s", col, describeStats(&got), describeStats(&want))
	}
}

func describeStats(c *spec.ColumnStatistics) string {
	var b strings.Builder
	v := reflect.ValueOf(c).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			fmt.Fprintf(&b, "%s=%+v ", v.Type().Field(i).Name, f.Elem().Interface())
		}
	}
	return b.String()
}

// checkMerged checks a merged file against its sources and against a file
// written in one go from the same rows: rows in order, row count, file
// statistics, stripe statistics, offsets.
func checkMerged(t testing.TB, merged []byte, srcs [][]byte, oneGo []byte) {
	t.Helper()
	var want []string
	for _, s := range srcs {
		want = append(want, readValues(t, s)...)
	}
	got := readValues(t, merged)
	if !slices.Equal(got, want) {
		t.Fatalf("merged file has %d rows, the sources %d, or they differ", len(got), len(want))
	}
	if oneGo != nil && !slices.Equal(readValues(t, oneGo), got) {
		t.Fatal("merged rows differ from those of a file written in one go")
	}
	m := openORC(t, merged)
	if m.NumRows() != uint64(len(want)) {
		t.Fatalf("footer says %d rows, want %d", m.NumRows(), len(want))
	}
	var wantSS []spec.StripeStatistics
	for _, s := range srcs {
		ss, err := openORC(t, s).StripeStatistics()
		if err != nil {
			t.Fatal(err)
		}
		wantSS = append(wantSS, ss...)
	}
	gotSS, err := m.StripeStatistics()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(spec.Marshal(&spec.Metadata{StripeStats: gotSS}), spec.Marshal(&spec.Metadata{StripeStats: wantSS})) {
		t.Fatal("stripe statistics are not the sources' in order")
	}
	if oneGo != nil {
		o := openORC(t, oneGo)
		for col := range o.Statistics() {
			statsComparable(t, col, m.Statistics()[col], o.Statistics()[col])
		}
	}
}

func TestMergeORCMatchesOneGo(t *testing.T) {
	rows := genRows(6000, 1000, 1)
	cuts := []int{1, 700, 701, 2500, 2500, 5999} // a one-row file, an empty one, uneven rest
	srcs := splitRows(t, rows, cuts, orcOpts()...)
	merged, res := mergeORCBytes(t, srcs)
	if res.Rows != int64(len(rows)) {
		t.Fatalf("result rows %d, want %d", res.Rows, len(rows))
	}
	oneGo := writeORC(t, rows, nil, orcOpts()...)
	checkMerged(t, merged, srcs, oneGo)

	m := openORC(t, merged)
	if v, _ := m.UserMetadata(OffsetsKey); string(v) != "0:0-5999" {
		t.Errorf("merged %s = %q, want the union 0:0-5999", OffsetsKey, v)
	}
	if v, _ := m.UserMetadata("landfall.logid"); string(v) != "clicks" {
		t.Errorf("merged landfall.logid = %q, want the first source's", v)
	}
	var stripes int
	for _, s := range srcs {
		stripes += len(openORC(t, s).Stripes())
	}
	if len(m.Stripes()) != stripes || stripes < len(srcs) {
		t.Fatalf("merged file has %d stripes, the sources %d", len(m.Stripes()), stripes)
	}
	// Every stripe is the source's bytes, byte for byte.
	i := 0
	for _, s := range srcs {
		f := openORC(t, s)
		for _, st := range f.Stripes() {
			mst := m.Stripes()[i]
			if !bytes.Equal(merged[mst.Offset:mst.Offset+mst.Length()], s[st.Offset:st.Offset+st.Length()]) {
				t.Fatalf("stripe %d is not a copy of its source's", i)
			}
			i++
		}
	}
}

// TestMergeORCInterop reads a merged file with Apache ORC (Java) and
// pyarrow (C++): exactly the sources' rows in order, and bloom filter
// pushdown on req still finds the rows it should.
func TestMergeORCInterop(t *testing.T) {
	rows := genRows(5000, 1, 2)
	srcs := splitRows(t, rows, []int{1200, 1201, 3000}, orcOpts()...)
	merged, _ := mergeORCBytes(t, srcs)
	dir := t.TempDir()
	var paths []string
	for i, s := range srcs {
		paths = append(paths, writeFile(t, dir, fmt.Sprintf("src%d.orc", i), s))
	}
	mp := writeFile(t, dir, "merged.orc", merged)

	java := javaRows(t, runOrcTools(t, append(append([]string{"data"}, paths...), mp)...), len(paths)+1)
	var want []string
	for _, r := range java[:len(paths)] {
		want = append(want, r...)
	}
	if len(want) != len(rows) || !slices.Equal(java[len(paths)], want) {
		t.Fatalf("orc-tools data: merged file has %d rows, the sources %d (of %d), or they differ", len(java[len(paths)]), len(want), len(rows))
	}
	py := runPyarrow(t, append(slices.Clone(paths), mp)...)
	want = nil
	for _, r := range py[:len(paths)] {
		want = append(want, r...)
	}
	if len(want) != len(rows) || !slices.Equal(py[len(paths)], want) {
		t.Fatalf("pyarrow: merged file has %d rows, the sources %d, or they differ", len(py[len(paths)]), len(want))
	}
	meta := string(runOrcTools(t, "meta", mp))
	if !strings.Contains(meta, fmt.Sprintf("Rows: %d", len(rows))) {
		t.Fatalf("orc-tools meta does not report %d rows:\n%s", len(rows), meta)
	}

	// Pushdown: orc-tools check evaluates, per stripe and row group, the
	// bloom filter of req and the whole predicate req = v (statistics and
	// bloom filter) for a value. The row group that holds the value must
	// not be skipped; most others must be, or the filters weren't read.
	m := openORC(t, merged)
	for _, i := range []int{0, 1250, 2999, 4321} {
		var rec struct{ Req *string }
		if err := json.Unmarshal(rows[i], &rec); err != nil || rec.Req == nil {
			continue // a null req: nothing to look up
		}
		stripe, rg := locate(m, i, 500)
		bloom := parseCheck(t, runOrcTools(t, "check", "--type", "bloom-filter", "--column", "req", mp, "--values", *rec.Req))
		pred := parseCheck(t, runOrcTools(t, "check", "--type", "predicate", "--column", "req", mp, "--values", *rec.Req))
		if got := bloom[[2]int{stripe, rg}]; got != "maybe exist" {
			t.Fatalf("row %d (%s) is in stripe %d row group %d, whose bloom filter says %q", i, *rec.Req, stripe, rg, got)
		}
		if got := pred[[2]int{stripe, rg}]; strings.HasPrefix(got, "NO") {
			t.Fatalf("row %d (%s) is in stripe %d row group %d, which the predicate skips (%s)", i, *rec.Req, stripe, rg, got)
		}
		skipped := 0
		for _, v := range bloom {
			if v == "not exist" {
				skipped++
			}
		}
		if skipped < len(bloom)/2 {
			t.Fatalf("bloom filters skip %d of %d row groups for %s", skipped, len(bloom), *rec.Req)
		}
	}
}

// locate finds the stripe and row group of row i of a file.
func locate(f *reader.File, i, stride int) (int, int) {
	for s, st := range f.Stripes() {
		if uint64(i) < st.NumberOfRows {
			return s, i / stride
		}
		i -= int(st.NumberOfRows)
	}
	return -1, -1
}

// parseCheck reads `orc-tools check` lines "stripe: S, rowIndex: R, value:
// V, <what>: X" into X by (S, R).
func parseCheck(t testing.TB, out []byte) map[[2]int]string {
	t.Helper()
	res := map[[2]int]string{}
	for _, line := range strings.Split(string(out), "\n") {
		var s, r int
		if _, err := fmt.Sscanf(line, "stripe: %d, rowIndex: %d,", &s, &r); err != nil {
			continue
		}
		res[[2]int{s, r}] = line[strings.LastIndex(line, ": ")+2:]
	}
	if len(res) == 0 {
		t.Fatalf("orc-tools check printed no row groups:\n%s", out)
	}
	return res
}

func TestMergeORCRefusesIncompatible(t *testing.T) {
	rows := genRows(100, 0, 3)
	base := writeORC(t, rows, nil, orcOpts()...)
	for name, other := range map[string][]byte{
		"compression": writeORC(t, rows, nil, orcOpts(orc.WithCompression(spec.CompressionZlib, 0))...),
		"block size":  writeORC(t, rows, nil, orcOpts(orc.WithBlockSize(64<<10))...),
		"stride":      writeORC(t, rows, nil, orcOpts(orc.WithRowIndexStride(1000))...),
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := MergeORC(context.Background(), &out, []Source{bytes.NewReader(base), bytes.NewReader(other)})
			var ie *IncompatibleError
			if !errors.Is(err, ErrIncompatible) || !errors.As(err, &ie) || ie.Source != 1 {
				t.Fatalf("merge of files with another %s: %v, want an *IncompatibleError for source 1", name, err)
			}
			t.Log(err)
		})
	}
	t.Run("schema", func(t *testing.T) {
		s, err := orc.ParseSchema("struct<id:bigint>")
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w, _ := orc.NewWriter(&buf, s)
		w.Append([]byte(`{"id":1}`))
		if err := w.Close(nil); err != nil {
			t.Fatal(err)
		}
		_, err = MergeORC(context.Background(), &bytes.Buffer{}, []Source{bytes.NewReader(base), bytes.NewReader(buf.Bytes())})
		if !errors.Is(err, ErrIncompatible) {
			t.Fatalf("merge of another schema: %v", err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		_, err := MergeORC(context.Background(), &bytes.Buffer{}, []Source{bytes.NewReader(base), bytes.NewReader(base[:len(base)-7])})
		if !errors.Is(err, ErrBadSource) {
			t.Fatalf("merge of a truncated file: %v, want ErrBadSource", err)
		}
	})
}

func TestUnionOffsets(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0:10-19,1:5-9,0:0-9", "0:0-19,1:5-9"},
		{"0:0-4,0:10-19,0:3-6", "0:0-6,0:10-19"},
		{"2:7-7", "2:7-7"},
	} {
		rs, err := parseOffsets(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatOffsets(unionOffsets(rs)); got != tc.want {
			t.Errorf("union of %s: %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"x", "0:5", "0:9-3", "a:1-2"} {
		if _, err := parseOffsets(bad); err == nil {
			t.Errorf("parseOffsets(%q): no error", bad)
		}
	}
}

// FuzzMergeORCSplits: random splits of the same rows merge back to the
// same data and the statistics of a file written in one go.
func FuzzMergeORCSplits(f *testing.F) {
	f.Add(uint64(1), uint8(3))
	f.Add(uint64(2), uint8(1))
	f.Add(uint64(99), uint8(9))
	rows := genRows(1500, 0, 4)
	oneGo := writeORC(f, rows, nil, orcOpts()...)
	f.Fuzz(func(t *testing.T, seed uint64, n uint8) {
		rng := rand.New(rand.NewPCG(seed, 1))
		cuts := make([]int, int(n%12)+1)
		for i := range cuts {
			cuts[i] = rng.IntN(len(rows) + 1)
		}
		slices.Sort(cuts)
		srcs := splitRows(t, rows, cuts, orcOpts()...)
		merged, _ := mergeORCBytes(t, srcs)
		checkMerged(t, merged, srcs, oneGo)
	})
}
