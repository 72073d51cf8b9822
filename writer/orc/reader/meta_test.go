package reader

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/landfall/landfall/internal/testenv"
	"github.com/landfall/landfall/writer/orc/spec"
)

// countingReader counts ReadAt calls, as a stand-in for HDFS round trips.
type countingReader struct {
	r     io.ReaderAt
	calls atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.calls.Add(1)
	return c.r.ReadAt(p, off)
}

func TestOpenReadsTailOnce(t *testing.T) {
	for _, name := range []string{"TestOrcFile.test1.orc", "demo-12-zlib.orc", "TestOrcFile.testSeek.orc"} {
		b, err := os.ReadFile(filepath.Join(testenv.SharedORC(t), name))
		if err != nil {
			t.Fatal(err)
		}
		cr := &countingReader{r: bytes.NewReader(b)}
		f, err := Open(cr, int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if cr.calls.Load() != 1 || f.TailReads != 1 {
			t.Errorf("%s: opening took %d reads", name, cr.calls.Load())
		}
		f.Close()
	}
	// A footer larger than the first read needs exactly one more.
	b, err := os.ReadFile(filepath.Join(testenv.SharedORC(t), "TestOrcFile.metaData.orc"))
	if err != nil {
		t.Fatal(err)
	}
	cr := &countingReader{r: bytes.NewReader(b)}
	f, err := Open(cr, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cr.calls.Load() != 2 {
		t.Errorf("metaData.orc (large user metadata): %d reads, want 2", cr.calls.Load())
	}
	if v, ok := f.UserMetadata("clobber"); !ok || len(v) == 0 {
		t.Errorf("user metadata: %v %v", ok, len(v))
	}
}

// TestStripeLayout checks the raw byte ranges a compactor copies: streams
// tile index and data sections exactly, stripes tile the body.
func TestStripeLayout(t *testing.T) {
	for _, name := range []string{"TestOrcFile.testStripeLevelStats.orc", "TestOrcFile.testDate2038.orc", "encrypted/sample1.orc", "over1k_bloom.orc"} {
		f := openFile(t, name)
		next := uint64(len(spec.Magic))
		for i, info := range f.Stripes() {
			if info.Offset != next {
				t.Errorf("%s: stripe %d at %d, previous ended at %d", name, i, info.Offset, next)
			}
			next = info.Offset + info.Length()
			s, err := f.Stripe(i)
			if err != nil {
				t.Fatal(err)
			}
			off := int64(info.Offset)
			var index, data int64
			for _, st := range s.Streams {
				if st.Offset != off {
					t.Fatalf("%s: stripe %d: stream %v/%d at %d, want %d", name, i, st.Kind, st.Column, st.Offset, off)
				}
				off += st.Length
				if st.Kind.IsIndex() {
					index += st.Length
				} else {
					data += st.Length
				}
			}
			if index != int64(info.IndexLength) || data != int64(info.DataLength) {
				t.Errorf("%s: stripe %d: streams hold %d index and %d data bytes, stripe says %d and %d", name, i, index, data, info.IndexLength, info.DataLength)
			}
		}
		if next != f.Footer().ContentLength && f.Footer().ContentLength != 0 {
			t.Errorf("%s: stripes end at %d, content length %d", name, next, f.Footer().ContentLength)
		}
	}
}

func TestStripeStatistics(t *testing.T) {
	f := openFile(t, "TestOrcFile.testStripeLevelStats.orc")
	ss, err := f.StripeStatistics()
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != len(f.Stripes()) || len(ss) != 3 {
		t.Fatalf("%d stripe statistics for %d stripes", len(ss), len(f.Stripes()))
	}
	var total uint64
	for i, s := range ss {
		if got := *s.ColStats[1].NumberOfValues; got != f.Stripes()[i].NumberOfRows {
			t.Errorf("stripe %d: %d values, %d rows", i, got, f.Stripes()[i].NumberOfRows)
		}
		total += *s.ColStats[1].NumberOfValues
	}
	if total != f.NumRows() {
		t.Errorf("stripe statistics count %d rows, file %d", total, f.NumRows())
	}
}

func TestRowIndex(t *testing.T) {
	f := openFile(t, "TestOrcFile.testPredicatePushdown.orc")
	if f.Footer().RowIndexStride != 1000 {
		t.Fatalf("stride %d", f.Footer().RowIndexStride)
	}
	ri, err := f.RowIndex(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ri.Entry) != 4 { // 3500 rows, 1000 per group
		t.Fatalf("%d row groups, want 4", len(ri.Entry))
	}
	var n uint64
	for i, e := range ri.Entry {
		if e.Statistics == nil || e.Statistics.Int == nil {
			t.Fatalf("group %d: no int statistics", i)
		}
		n += *e.Statistics.NumberOfValues
		if len(e.Positions) == 0 {
			t.Errorf("group %d: no positions", i)
		}
	}
	if n != f.NumRows() {
		t.Errorf("row groups count %d values, file has %d rows", n, f.NumRows())
	}
	// The row-group minimum of int1 must be the smallest value of its rows.
	rows := readAll(t, f)
	for g, e := range ri.Entry {
		min := int64(1 << 62)
		for r := g * 1000; r < min64(len(rows), (g+1)*1000); r++ {
			if v := rows[r].([]Field)[0].Value.(int64); v < min {
				min = v
			}
		}
		if *e.Statistics.Int.Minimum != min {
			t.Errorf("group %d: minimum %d, rows say %d", g, *e.Statistics.Int.Minimum, min)
		}
	}
	if _, err := openFile(t, "TestOrcFile.testWithoutIndex.orc").RowIndex(0, 1); err == nil {
		t.Error("row index of a file without one: no error")
	}
}

func min64(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func TestBloomFilters(t *testing.T) {
	f := openFile(t, "over1k_bloom.orc")
	found := 0
	for c := 1; c < len(f.Footer().Types); c++ {
		bf, kind, err := f.BloomFilterIndex(0, c)
		if err != nil {
			continue
		}
		found++
		if len(bf.BloomFilter) == 0 || bf.BloomFilter[0].NumHashFunctions == 0 {
			t.Errorf("column %d: empty %v index", c, kind)
		}
	}
	if found == 0 {
		t.Fatal("no bloom filters found in over1k_bloom.orc")
	}
}

func TestProjection(t *testing.T) {
	f := openFile(t, "TestOrcFile.test1.orc")
	s := f.Schema()
	id := s.Field("string1").ID
	rows, err := f.Rows(WithColumns(id))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []any
	for rows.Next() {
		row := rows.Value().([]Field)
		for _, fl := range row {
			if fl.Name != "string1" && fl.Value != nil {
				t.Errorf("field %s read though not selected: %v", fl.Name, fl.Value)
			}
		}
		got = append(got, row[8].Value)
	}
	if rows.Err() != nil || len(got) != 2 || got[0] != "hi" || got[1] != "bye" {
		t.Fatalf("got %v, %v", got, rows.Err())
	}
	if _, err := f.Rows(WithColumns(999)); err == nil {
		t.Error("unknown column: no error")
	}
}

func TestLimits(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.SharedORC(t), "TestOrcFile.testSeek.orc"))
	if err != nil {
		t.Fatal(err)
	}
	if err := readRows(b, WithMaxStreamSize(4096)); !errors.Is(err, spec.ErrLimit) {
		t.Errorf("small stream limit: %v", err)
	}
	if _, err := Open(bytes.NewReader(b), int64(len(b)), WithMaxTailSize(100)); !errors.Is(err, spec.ErrLimit) {
		t.Errorf("small tail limit: %v", err)
	}
	f := openFile(t, "TestOrcFile.test1.orc")
	br, err := f.Batches(WithMaxElements(1))
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	if _, err := br.Next(); !errors.Is(err, spec.ErrCorrupt) {
		t.Errorf("element limit: %v", err)
	}
	// Truncated files fail cleanly at every length.
	small, err := os.ReadFile(filepath.Join(testenv.SharedORC(t), "TestOrcFile.test1.orc"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(small); n++ {
		if err := readWhole(small[:n]); err == nil {
			t.Fatalf("file truncated to %d bytes read without error", n)
		}
	}
}
