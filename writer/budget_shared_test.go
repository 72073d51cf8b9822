package writer_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/fsys"
	"github.com/landfall/landfall/writer/lzo"
	"github.com/landfall/landfall/writer/orc"
	"github.com/landfall/landfall/writer/orc/reader"
	"github.com/landfall/landfall/writer/orc/spec"
)

// recordSchema is record's JSON as an ORC table.
const recordSchema = "struct<part:int,seq:int,host:string,status:int,latency_ms:int,trace:string,msg:string>"

// sharedFormats are a pipeline's format of each kind and its invalid-record
// sink, all on budget b (nil: each its own, at its default size). The sink
// is made as committer.New makes it.
func sharedFormats(t *testing.T, b *writer.Budget) []struct {
	kind string // for checkFile
	f    writer.Format
} {
	t.Helper()
	schema, err := orc.ParseSchema(recordSchema)
	if err != nil {
		t.Fatal(err)
	}
	var (
		textOpts []writer.TextOption
		lzoOpts  []lzo.WriterOption
		orcOpts  = []orc.Option{orc.WithCompression(spec.CompressionZstd, 1)}
	)
	if b != nil {
		textOpts = append(textOpts, writer.WithBudget(b))
		lzoOpts = append(lzoOpts, lzo.WithBudget(b))
		orcOpts = append(orcOpts, orc.WithBudget(b))
	}
	zst, err := writer.NewText("zstd", textOpts...)
	if err != nil {
		t.Fatal(err)
	}
	lz, err := lzo.NewFormat(lzoOpts...)
	if err != nil {
		t.Fatal(err)
	}
	of, err := orc.NewFormat(schema, orcOpts...)
	if err != nil {
		t.Fatal(err)
	}
	var sinkOpts []writer.TextOption
	if b != nil {
		sinkOpts = append(sinkOpts, writer.WithBudget(of.Budget()))
	}
	sink, err := writer.NewText("none", sinkOpts...)
	if err != nil {
		t.Fatal(err)
	}
	return []struct {
		kind string
		f    writer.Format
	}{{"orc", of}, {"zstd", zst}, {"lzo", lz}, {"text", sink}}
}

// TestOneBudgetForEveryFormat opens 80 part files of each format — ORC,
// text+zstd, lzo — and 80 of the invalid-record sink's text at once, all on
// one 16 MiB budget, and appends interleaved records to all of them: the
// budget must count every file, stay within its limit after every append
// (320 files × the 16 KiB minimum is far under it), and the heap must grow
// no more than the budget plus the documented overhead of open files. The
// same appends with a budget per format, as before there was one per
// process, must break the bound, which shows the measurement can fail.
func TestOneBudgetForEveryFormat(t *testing.T) {
	const (
		limit   = 16 << 20
		each    = 80
		perPart = 128 << 10
		// An open ORC file holds outside any budget its column structs,
		// statistics and JSON parser cache, about 1 KiB a column (8 here),
		// and the format's pooled zstd compressor is not counted either.
		orcOverhead = 8 << 10
		orcFixed    = 2 << 20
		bound       = limit + 4*each*fileOverhead + each*orcOverhead + fixedOverhead + orcFixed
	)
	run := func(t *testing.T, b *writer.Budget, perPart int) (peak int64, check func()) {
		fs, err := fsys.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		formats := sharedFormats(t, b)
		base := heapInuse()
		type file struct {
			kind, name string
			p          *writer.Part
			rows       int
		}
		var files []*file
		for i := 0; i < each; i++ {
			for _, ft := range formats {
				n := len(files)
				f := &file{kind: ft.kind, name: fmt.Sprintf("staging/p%03d%s", n, ft.f.Ext())}
				if f.p, err = writer.Create(fs, ft.f, f.name); err != nil {
					t.Fatal(err)
				}
				files = append(files, f)
			}
		}
		if b != nil && b.Files() != len(files) {
			t.Fatalf("the budget counts %d open files of %d", b.Files(), len(files))
		}
		var line []byte
		most := int64(0)
		written, next := 0, len(files)*perPart/16
		for round := 0; written < len(files)*perPart; round++ {
			for i, f := range files {
				line = record(line[:0], i, f.rows)
				if err := f.p.Append(line); err != nil {
					t.Fatal(err)
				}
				f.rows++
				written += len(line)
				if b != nil {
					// One goroutine: after any append the budget holds at
					// most max(limit, files × 16 KiB), here the limit.
					if used := b.InUse(); used > max(limit, int64(len(files))*16<<10) {
						t.Fatalf("after append %d to %s (%s): %d bytes in use, limit %d", f.rows, f.name, f.kind, used, limit)
					} else {
						most = max(most, used)
					}
				}
			}
			if written >= next {
				peak = max(peak, heapInuse()-base)
				next += len(files) * perPart / 16
			}
		}
		peak = max(peak, heapInuse()-base)
		if b != nil && most < limit/2 {
			t.Errorf("the budget held at most %d bytes: the test did not load it", most)
		}
		for _, f := range files {
			r, err := f.p.Roll(nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Rows != int64(f.rows) {
				t.Fatalf("%s: rolled %d rows, appended %d", f.name, r.Rows, f.rows)
			}
			if err := f.p.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return peak, func() {
			for i, f := range files {
				if f.kind != "orc" {
					checkFile(t, fs, f.kind, f.name, i, f.rows)
					continue
				}
				checkORC(t, readFile(t, fs, f.name), f.name, i, f.rows)
			}
		}
	}

	t.Run("shared", func(t *testing.T) {
		b := writer.NewBudget(limit)
		peak, check := run(t, b, perPart)
		t.Logf("heap grew at most %.1f MiB (bound %.1f MiB); budget peak %.1f of %.1f MiB (%.1f reserved); %d spills",
			mib(peak), mib(bound), mib(b.Peak()), mib(b.Limit()), mib(b.Reserved()), b.Spills())
		if peak > bound {
			t.Errorf("heap grew %d bytes with %d files of four formats open: more than the budget %d + overhead = %d", peak, 4*each, limit, bound)
		}
		if b.Peak() > b.Limit() {
			t.Errorf("budget accounting peaked at %d, over its limit %d", b.Peak(), b.Limit())
		}
		if b.Spills() == 0 {
			t.Error("no file spilled: the formats did not compete for the budget")
		}
		if b.Files() != 0 || b.InUse() != b.Reserved() {
			t.Errorf("after rolling every file the budget counts %d files holding %d bytes", b.Files(), b.InUse())
		}
		check()
	})
	t.Run("a budget per format", func(t *testing.T) {
		peak, _ := run(t, nil, perPart/2)
		t.Logf("with a budget per format the heap grew %.1f MiB", mib(peak))
		if peak <= bound {
			t.Errorf("with a budget per format the heap grew only %d bytes, within the bound %d: the test can't tell", peak, bound)
		}
	})
}

// checkORC fails unless data is an ORC file of part p's records 0..n-1 in
// order.
func checkORC(t *testing.T, data []byte, name string, p, n int) {
	t.Helper()
	f, err := reader.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer f.Close()
	rows, err := f.Rows()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer rows.Close()
	seq := 0
	for ; rows.Next(); seq++ {
		fields := rows.Value().([]reader.Field)
		if fields[0].Value != int64(p) || fields[1].Value != int64(seq) {
			t.Fatalf("%s: row %d is part %v seq %v, want %d %d", name, seq, fields[0].Value, fields[1].Value, p, seq)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if seq != n {
		t.Fatalf("%s: %d rows, want %d", name, seq, n)
	}
}
