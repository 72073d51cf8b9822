package orc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/orc/reader"
	"github.com/landfall/landfall/writer/orc/spec"
)

func openFile(t testing.TB, data []byte) *reader.File {
	t.Helper()
	f, err := reader.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("reader.Open: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestRejectedRecordLeavesNoTrace(t *testing.T) {
	schema, err := ParseSchema("struct<id:int,status:int,msg:string,tags:map<string,int>,xs:array<struct<a:string,b:int>>>")
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFormat(schema, WithCompression(spec.CompressionNone, 0))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc, err := f.NewEncoder(&buf)
	if err != nil {
		t.Fatal(err)
	}
	good := []string{
		`{"id":1,"status":200,"msg":"ok","tags":{"a":1},"xs":[{"a":"x","b":1}]}`,
		`{"ID":2,"Status":"404","msg":"missing"}`,
	}
	bad := []struct{ rec, reason string }{
		{`{"id":3,"status":"abc","msg":"SECRET-status"}`, `column "status": want int, got string "abc"`},
		{`{"id":4,"msg":"SECRET-tags","tags":{"a":1,"b":"x"}}`, `column "tags{}": want int, got string "x"`},
		{`{"id":5,"msg":"SECRET-xs","xs":[{"a":"SECRET-inner","b":1},{"a":"y","b":1.5}]}`, `column "xs[].b": want int, got number 1.5`},
		{`{"id":99999999999,"msg":"SECRET-range"}`, `column "id": want int, got number 99999999999`},
		{`{"id":6,"msg":"SECRET-broken"`, "not JSON"},
		{`[1,2]`, "want a JSON object"},
	}
	for i := 0; i < 3; i++ {
		for _, g := range good {
			if err := enc.Append([]byte(g)); err != nil {
				t.Fatalf("append %s: %v", g, err)
			}
		}
		for _, b := range bad {
			err := enc.Append([]byte(b.rec))
			var re *writer.RecordError
			if !errors.As(err, &re) || !errors.Is(err, writer.ErrInvalidRecord) {
				t.Fatalf("append %s: got %v, want a *writer.RecordError", b.rec, err)
			}
			if !strings.Contains(re.Reason, b.reason) {
				t.Errorf("append %s: reason %q, want it to contain %q", b.rec, re.Reason, b.reason)
			}
		}
	}
	if err := enc.Close(map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("SECRET")) {
		t.Error("bytes of a rejected record reached the file")
	}
	got := readAll(t, buf.Bytes(), schema)
	want := []string{
		`{1,200,"ok",{"a":1},[{"x",1}]}`,
		`{2,404,"missing",null,null}`,
	}
	if len(got) != 6 {
		t.Fatalf("read %d rows, want 6", len(got))
	}
	for i, g := range got {
		if g != want[i%2] {
			t.Errorf("row %d: %s, want %s", i, g, want[i%2])
		}
	}
}

func TestFormatContract(t *testing.T) {
	schema, _ := ParseSchema("struct<a:int>")
	f, err := NewFormat(schema)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != "orc" || f.Ext() != ".orc" {
		t.Errorf("name %q ext %q", f.Name(), f.Ext())
	}
	var buf bytes.Buffer
	enc, err := f.NewEncoder(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Append([]byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{"landfall.version": "dev", "kafka.offsets": "0-1"}
	if err := enc.Close(meta); err != nil {
		t.Fatal(err)
	}
	if err := enc.Append([]byte(`{"a":1}`)); err == nil {
		t.Error("append after close succeeded")
	}
	rf := openFile(t, buf.Bytes())
	for k, v := range meta {
		got, ok := rf.UserMetadata(k)
		if !ok || string(got) != v {
			t.Errorf("user metadata %s = %q, %v; want %q", k, got, ok, v)
		}
	}
	if rf.Compression() != spec.CompressionZstd {
		t.Errorf("default compression %v, want ZSTD", rf.Compression())
	}

	// An empty file is still a valid ORC file.
	buf.Reset()
	enc, _ = f.NewEncoder(&buf)
	if err := enc.Close(nil); err != nil {
		t.Fatal(err)
	}
	if rf := openFile(t, buf.Bytes()); rf.NumRows() != 0 {
		t.Errorf("empty file has %d rows", rf.NumRows())
	}

	for _, bad := range []Option{WithCompression(spec.CompressionLZO, 0), WithBlockSize(10), WithDictionaryThreshold(2),
		WithBloomFilters(0.01, "nope"), WithMemoryBudget(0), WithRowIndexStride(0)} {
		if _, err := NewFormat(schema, bad); err == nil {
			t.Error("NewFormat accepted a bad option")
		}
	}
}

func TestStreamsAndEncodingsPerStripe(t *testing.T) {
	schema, _ := ParseSchema("struct<dense:int,sparse:int,low:string,high:string,later:string>")
	var buf bytes.Buffer
	w, err := NewWriter(&buf, schema, WithCompression(spec.CompressionZstd, 1))
	if err != nil {
		t.Fatal(err)
	}
	const n = 25000
	for i := 0; i < n; i++ {
		sparse := "null"
		if i%10 == 0 {
			sparse = fmt.Sprint(i)
		}
		// "later" is unique in the first row group and repetitive after:
		// like Apache ORC, the writer gives up on the dictionary after the
		// first row group and stays direct for the stripe.
		later := fmt.Sprintf("u%d", i)
		if i >= 10000 {
			later = fmt.Sprintf("u%d", i%5)
		}
		rec := fmt.Sprintf(`{"dense":%d,"sparse":%s,"low":"level-%d","high":"req-%08d-%d","later":%q}`, i, sparse, i%7, i, i*7919, later)
		if err := w.Append([]byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Second stripe: no nulls in "sparse" any more.
	for i := 0; i < 100; i++ {
		if err := w.Append([]byte(fmt.Sprintf(`{"dense":1,"sparse":2,"low":"x","high":"y%d","later":"z"}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	rf := openFile(t, buf.Bytes())
	if len(rf.Stripes()) != 2 {
		t.Fatalf("%d stripes, want 2", len(rf.Stripes()))
	}
	s0, err := rf.Stripe(0)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := rf.Stripe(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s0.Stream(1, spec.StreamPresent); ok {
		t.Error("column without nulls has a PRESENT stream")
	}
	if _, ok := s0.Stream(2, spec.StreamPresent); !ok {
		t.Error("column with nulls has no PRESENT stream")
	}
	if _, ok := s1.Stream(2, spec.StreamPresent); ok {
		t.Error("column without nulls in the second stripe has a PRESENT stream")
	}
	enc := func(s *reader.Stripe, col int) spec.EncodingKind { return s.Footer.Columns[col].Kind }
	if k := enc(s0, 3); k != spec.EncodingDictionaryV2 {
		t.Errorf("low-cardinality column: %v, want DICTIONARY_V2", k)
	}
	if s0.Footer.Columns[3].DictionarySize != 7 {
		t.Errorf("dictionary size %d, want 7", s0.Footer.Columns[3].DictionarySize)
	}
	if k := enc(s0, 4); k != spec.EncodingDirectV2 {
		t.Errorf("high-cardinality column: %v, want DIRECT_V2", k)
	}
	if k := enc(s0, 5); k != spec.EncodingDirectV2 {
		t.Errorf("column distinct in its first row group: %v, want DIRECT_V2", k)
	}
	if k := enc(s0, 1); k != spec.EncodingDirectV2 {
		t.Errorf("int column: %v, want DIRECT_V2", k)
	}
	if s0.Footer.WriterTimezone != "UTC" {
		t.Errorf("writer timezone %q", s0.Footer.WriterTimezone)
	}

	// Row index: one entry per 10,000 rows, with row group statistics.
	ri, err := rf.RowIndex(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ri.Entry) != 3 {
		t.Fatalf("%d row index entries, want 3", len(ri.Entry))
	}
	st := ri.Entry[1].Statistics
	if st == nil || st.Int == nil || *st.Int.Minimum != 10000 || *st.Int.Maximum != 19999 || *st.NumberOfValues != 10000 {
		t.Errorf("row group 1 statistics of dense: %+v", st)
	}

	// File statistics.
	fs := rf.Statistics()
	if *fs[0].NumberOfValues != n+100 {
		t.Errorf("root count %d", *fs[0].NumberOfValues)
	}
	dense := fs[1].Int
	if *dense.Minimum != 0 || *dense.Maximum != n-1 || *dense.Sum != int64(n)*(n-1)/2+100 {
		t.Errorf("dense stats min %d max %d sum %d", *dense.Minimum, *dense.Maximum, *dense.Sum)
	}
	if !*fs[2].HasNull || *fs[2].NumberOfValues != n/10+100 {
		t.Errorf("sparse: hasNull %v count %d", *fs[2].HasNull, *fs[2].NumberOfValues)
	}
	low := fs[3].String
	if *low.Minimum != "level-0" || *low.Maximum != "x" {
		t.Errorf("low: min %q max %q", *low.Minimum, *low.Maximum)
	}
	ss, err := rf.StripeStatistics()
	if err != nil || len(ss) != 2 || *ss[1].ColStats[1].Int.Maximum != 1 {
		t.Errorf("stripe statistics: %v %v", ss, err)
	}
}

// TestRowIndexPositions seeks to every row group the way a reader does:
// from the recorded positions (chunk offset, bytes into the chunk, values
// into the run) it must land exactly on the row group's first value.
func TestRowIndexPositions(t *testing.T) {
	schema, _ := ParseSchema("struct<v:bigint,w:int>")
	for _, comp := range []spec.CompressionKind{spec.CompressionNone, spec.CompressionZstd, spec.CompressionZlib} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, schema, WithCompression(comp, 0), WithRowIndexStride(777), WithBlockSize(4096))
		if err != nil {
			t.Fatal(err)
		}
		g := newGen(9)
		vals := randomInts(g.rng, 20000, true)
		nulls := make([]bool, len(vals))
		for i, v := range vals {
			nulls[i] = g.rng.IntN(5) == 0
			wv := "null"
			if !nulls[i] {
				wv = fmt.Sprint(int32(v))
			}
			if err := w.Append([]byte(fmt.Sprintf(`{"v":%d,"w":%s}`, v, wv))); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(nil); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		rf := openFile(t, data)
		dec, err := spec.NewDecompressor(comp, uint64(4096))
		if err != nil {
			t.Fatal(err)
		}
		stripe, _ := rf.Stripe(0)
		raw := func(col int, kind spec.StreamKind) []byte {
			s, ok := stripe.Stream(col, kind)
			if !ok {
				t.Fatalf("no stream %v of column %d", kind, col)
			}
			return data[s.Offset : s.Offset+s.Length]
		}
		// seek positions a stream and returns the rest of its bytes.
		seek := func(b []byte, pos []uint64) ([]byte, []uint64) {
			if comp == spec.CompressionNone {
				return b[pos[0]:], pos[1:]
			}
			out, err := dec.Decompress(nil, b[pos[0]:], 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			return out[pos[1]:], pos[2:]
		}
		for col, stride := 1, 777; col <= 2; col++ {
			ri, err := rf.RowIndex(0, col)
			if err != nil {
				t.Fatal(err)
			}
			if len(ri.Entry) != (len(vals)+stride-1)/stride {
				t.Fatalf("%d entries", len(ri.Entry))
			}
			for g, e := range ri.Entry {
				row := g * stride
				pos := e.Positions
				if col == 2 {
					// PRESENT: byte RLE position, then bits into the byte.
					var b []byte
					b, pos = seek(raw(col, spec.StreamPresent), pos)
					bytesOut, err := decodeByteRLE(b)
					if err != nil {
						t.Fatal(err)
					}
					bit := bytesOut[pos[0]] >> (7 - pos[1]) & 1
					if (bit == 1) == nulls[row] {
						t.Fatalf("%v column %d group %d: present bit %d, row null %v", comp, col, g, bit, nulls[row])
					}
					pos = pos[2:]
				}
				b, pos := seek(raw(col, spec.StreamData), pos)
				got, err := decodeRLEv2(b, true)
				if err != nil {
					t.Fatal(err)
				}
				// First non-null value at or after the group's first row.
				want, r := vals[row], row
				if col == 2 {
					for r < len(vals) && nulls[r] {
						r++
					}
					if r == len(vals) {
						continue
					}
					want = int64(int32(vals[r]))
				}
				if len(pos) != 1 || int(pos[0]) >= len(got) || got[pos[0]] != want {
					t.Fatalf("%v column %d group %d: positions %v land on the wrong value", comp, col, g, e.Positions)
				}
			}
		}
	}
}

// TestMemoryBudgetHolds opens hundreds of files of one Format and appends
// to them round robin: the bytes they hold together must never exceed the
// budget, and every file must still read back complete.
func TestMemoryBudgetHolds(t *testing.T) {
	schema, err := ParseSchema(logSchema)
	if err != nil {
		t.Fatal(err)
	}
	const (
		budget  = 16 << 20
		files   = 300
		perFile = 400
	)
	f, err := NewFormat(schema, WithMemoryBudget(budget), WithCompression(spec.CompressionZstd, 1))
	if err != nil {
		t.Fatal(err)
	}
	bufs := make([]bytes.Buffer, files)
	encs := make([]writer.Encoder, files)
	for i := range encs {
		if encs[i], err = f.NewEncoder(&bufs[i]); err != nil {
			t.Fatal(err)
		}
	}
	lg := newLogGen(1)
	var peak int64
	for r := 0; r < perFile; r++ {
		for i, enc := range encs {
			if err := enc.Append(lg.next()); err != nil {
				t.Fatalf("file %d: %v", i, err)
			}
			held := f.BufferedBytes()
			if held > budget {
				t.Fatalf("after append %d to file %d: %d bytes held, budget %d", r, i, held, budget)
			}
			peak = max(peak, held)
		}
	}
	if peak < budget/2 {
		t.Errorf("peak %d bytes: the test did not load the budget", peak)
	}
	if p := f.Budget().Peak(); p > budget {
		t.Errorf("manager saw %d bytes held, budget %d", p, budget)
	}
	for i, enc := range encs {
		if err := enc.Close(nil); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			rf := openFile(t, bufs[i].Bytes())
			if rf.NumRows() != perFile {
				t.Errorf("file %d: %d rows, want %d", i, rf.NumRows(), perFile)
			}
			if len(rf.Stripes()) < 2 {
				t.Errorf("file %d: %d stripes; the budget should have forced early ones", i, len(rf.Stripes()))
			}
		}
	}
	if held := f.BufferedBytes(); held != 0 {
		t.Errorf("%d bytes still accounted after every file closed", held)
	}
}

// TestDiscardLeavesBudget: files abandoned unfinished (a failed run's)
// give their bytes back.
func TestDiscardLeavesBudget(t *testing.T) {
	schema, err := ParseSchema(logSchema)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFormat(schema, WithMemoryBudget(64<<20))
	if err != nil {
		t.Fatal(err)
	}
	lg := newLogGen(2)
	encs := make([]writer.Encoder, 10)
	for i := range encs {
		if encs[i], err = f.NewEncoder(io.Discard); err != nil {
			t.Fatal(err)
		}
		for r := 0; r < 200; r++ {
			if err := encs[i].Append(lg.next()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if f.BufferedBytes() == 0 {
		t.Fatal("no bytes accounted after appending")
	}
	for _, enc := range encs[1:] {
		enc.(writer.Discarder).Discard()
	}
	if err := encs[0].Close(nil); err != nil {
		t.Fatal(err)
	}
	if held := f.BufferedBytes(); held != 0 {
		t.Fatalf("%d bytes accounted after one file closed and nine discarded", held)
	}
}

func TestWriteErrorIsSticky(t *testing.T) {
	schema, _ := ParseSchema("struct<a:string>")
	w, err := NewWriter(failingWriter{}, schema, WithStripeSize(4096))
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for i := 0; i < 10000 && werr == nil; i++ {
		werr = w.Append([]byte(fmt.Sprintf(`{"a":"value %d"}`, i)))
	}
	if werr == nil {
		werr = w.Close(nil)
	}
	if werr == nil || errors.Is(werr, writer.ErrInvalidRecord) || !strings.Contains(werr.Error(), "disk full") {
		t.Fatalf("got %v, want the write error", werr)
	}
	if err := w.Append([]byte(`{"a":"x"}`)); err == nil {
		t.Error("append after a write error succeeded")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

var _ io.Writer = failingWriter{}

// TestMemoryBudgetConcurrent appends from several goroutines, as partitions
// of a pipeline do; run with -race it checks the locking between writers and
// the memory budget, which flushes one goroutine's file from another.
func TestMemoryBudgetConcurrent(t *testing.T) {
	schema, _ := ParseSchema(logSchema)
	const budget = 4 << 20
	f, err := NewFormat(schema, WithMemoryBudget(budget), WithCompression(spec.CompressionZstd, 1))
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, filesEach, rows = 4, 10, 300
	errs := make(chan error, goroutines)
	for gi := 0; gi < goroutines; gi++ {
		go func(seed uint64) {
			lg := newLogGen(seed)
			bufs := make([]bytes.Buffer, filesEach)
			encs := make([]writer.Encoder, filesEach)
			for i := range encs {
				var err error
				if encs[i], err = f.NewEncoder(&bufs[i]); err != nil {
					errs <- err
					return
				}
			}
			for r := 0; r < rows; r++ {
				for _, enc := range encs {
					if err := enc.Append(lg.next()); err != nil {
						errs <- err
						return
					}
				}
			}
			for i, enc := range encs {
				if err := enc.Close(nil); err != nil {
					errs <- err
					return
				}
				rf, err := reader.Open(bytes.NewReader(bufs[i].Bytes()), int64(bufs[i].Len()))
				if err != nil {
					errs <- err
					return
				}
				if rf.NumRows() != rows {
					errs <- fmt.Errorf("file has %d rows, want %d", rf.NumRows(), rows)
				}
				rf.Close()
			}
			errs <- nil
		}(uint64(gi))
	}
	for i := 0; i < goroutines; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if p := f.Budget().Peak(); p > budget {
		t.Errorf("peak %d bytes over budget %d", p, budget)
	}
	if held := f.BufferedBytes(); held != 0 {
		t.Errorf("%d bytes still accounted after every file closed", held)
	}
}

// TestLongStringStatistics: min and max longer than 1 KiB are written as
// truncated lower and upper bounds (ORC-203) that still bracket the values.
func TestLongStringStatistics(t *testing.T) {
	schema, _ := ParseSchema("struct<s:string>")
	var buf bytes.Buffer
	w, err := NewWriter(&buf, schema)
	if err != nil {
		t.Fatal(err)
	}
	lo := strings.Repeat("a", 2000) + "z"
	hi := strings.Repeat("é", 1000) + "x" // 2-byte characters: the cut must not split one
	for _, s := range []string{lo, hi, "m"} {
		if err := w.Append([]byte(fmt.Sprintf(`{"s":%q}`, s))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	ss := openFile(t, buf.Bytes()).Statistics()[1].String
	if ss.Minimum != nil || ss.Maximum != nil || ss.LowerBound == nil || ss.UpperBound == nil {
		t.Fatalf("want only bounds, got %+v", ss)
	}
	if len(*ss.LowerBound) > 1024 || *ss.LowerBound > lo || len(*ss.UpperBound) > 1024 || *ss.UpperBound < hi {
		t.Errorf("bounds %d/%d bytes do not bracket the values", len(*ss.LowerBound), len(*ss.UpperBound))
	}
	if !utf8.ValidString(*ss.UpperBound) || !utf8.ValidString(*ss.LowerBound) {
		t.Error("bounds are not valid UTF-8")
	}
}

// TestChargeFollowsBuffers: an append charges the budget only when a
// buffer may have been reallocated (heldStale), so a growth that goes
// unreported would leave the charge short. After every append of random
// records of random schemas (every kind, nested, nulls, dictionary and
// direct strings, stripes flushed by size and files reusing pooled
// buffers), the charge must be what the buffers hold.
func TestChargeFollowsBuffers(t *testing.T) {
	g := newGen(77)
	for i := 0; i < 40; i++ {
		schemaStr := randomStruct(g.rng, 0, 1+g.rng.IntN(8))
		schema, err := ParseSchema(schemaStr)
		if err != nil {
			t.Fatal(err)
		}
		f, err := NewFormat(schema, WithMemoryBudget(256<<20),
			WithRowIndexStride(1+g.rng.IntN(2000)),
			WithStripeSize(16<<10+g.rng.IntN(1<<20)),
			WithDictionaryThreshold([]float64{0, 0.3, 0.8, 1}[g.rng.IntN(4)]))
		if err != nil {
			t.Fatal(err)
		}
		rg := newGen(uint64(i))
		rg.nullRate = []int{0, 2, 8, 50}[i%4]
		for file := 0; file < 2; file++ { // the second takes the first's buffers
			enc, err := f.NewEncoder(io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			w := enc.(*Writer)
			for j, n := 0, g.rng.IntN(5000); j < n; j++ {
				js, _ := rg.record(schema)
				if err := w.Append([]byte(js)); err != nil {
					t.Fatalf("schema %s: append %s: %v", schemaStr, js, err)
				}
				if held, want := w.acct.Held(), w.heldBytes(); held != want {
					t.Fatalf("schema %s, file %d, row %d: charged %d bytes, buffers hold %d", schemaStr, file, j, held, want)
				}
			}
			if err := w.Close(nil); err != nil {
				t.Fatal(err)
			}
		}
	}
}
