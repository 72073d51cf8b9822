package orc

import (
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/committer/jsonscan"
	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/orc/spec"
)

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// logRecords pre-generates n log records so that benchmarks time the writer,
// not the generator.
func logRecords(n int) ([][]byte, int64) {
	g := newLogGen(1)
	recs := make([][]byte, n)
	var total int64
	for i := range recs {
		recs[i] = append([]byte(nil), g.next()...)
		total += int64(len(recs[i]))
	}
	return recs, total
}

// quickstartRecords are n valid records of the quickstart's generator, for
// loggen.Schema.
func quickstartRecords(n int) ([][]byte, int64) {
	g := loggen.New(7)
	g.BadFraction, g.LateFraction = 0, 0
	et := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	recs := make([][]byte, n)
	var total int64
	for i := range recs {
		recs[i], _ = g.Next(nil, et)
		et = et.Add(50 * time.Millisecond)
		total += int64(len(recs[i]))
	}
	return recs, total
}

// appendPath is how a benchmark hands a record to the writer.
type appendPath struct {
	name string
	new  func(w *Writer) func(rec []byte) error
}

var appendPaths = []appendPath{
	// The pipeline's path: one scan that also finds the event time.
	{"onepass", func(w *Writer) func([]byte) error {
		sc := newScanner(w.schema, w.o, "ts")
		return func(rec []byte) error {
			row, _, ok := sc.Scan(rec)
			if !ok {
				row = sc.Convert(rec)
			}
			return w.AppendRow(row)
		}
	}},
	// What the pipeline did before: jsonscan for the event time, then
	// fastjson and the converter.
	{"jsonscan+fastjson", func(w *Writer) func([]byte) error {
		l := newLegacy(w)
		return func(rec []byte) error {
			if _, _, _, err := jsonscan.ScanFold(rec, "ts"); err != nil {
				return err
			}
			return l.append(rec)
		}
	}},
	// The encoder alone before (what this benchmark measured).
	{"fastjson", func(w *Writer) func([]byte) error { return newLegacy(w).append }},
}

// legacy is Writer.Append as it was before the one pass: fastjson's tree,
// converted value by value into the file's columns, undone on a rejection.
type legacy struct {
	w      *Writer
	parser fastjson.Parser
	cv     converter
	marks  []mark
}

func newLegacy(w *Writer) *legacy {
	l := &legacy{w: w, marks: make([]mark, len(w.cols))}
	l.cv.zone = w.o.zone
	return l
}

func (l *legacy) append(value []byte) error {
	w := l.w
	w.acct.Lock()
	defer w.acct.Unlock()
	v, err := l.parser.ParseBytes(value)
	if err != nil {
		return &writer.RecordError{Reason: "not JSON: " + truncatedError(err)}
	}
	for i, c := range w.cols {
		l.marks[i] = c.mark()
	}
	if err := l.cv.appendRoot(w.root, v); err != nil {
		for i, c := range w.cols {
			c.rollback(&l.marks[i])
		}
		var ce *convertError
		if errors.As(err, &ce) {
			return &writer.RecordError{Reason: ce.Error()}
		}
		return err
	}
	w.root.present = append(w.root.present, true)
	w.rows++
	w.stripeRows++
	w.rgRows++
	if w.rgRows == w.o.rowIndexStride {
		w.endRowGroup()
	}
	if w.stripeRows&63 == 0 && w.bufferedBytes() >= w.o.stripeSize {
		if err := w.flushStripe(false); err != nil {
			return err
		}
	}
	w.acct.Set(w.heldBytes())
	w.acct.Fit()
	return w.err
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkJSONToORC measures the whole path a pipeline record takes: JSON
// scan (with the event time), conversion, encoding, compression, on the
// benchmark's log records and on the quickstart's (one core: a writer is
// used by one goroutine), for the one pass and the two paths it replaced.
// It reports rows per wall second and per CPU second of the process, and
// the output bytes per row (the file size).
//
//	go test -run '^$' -bench 'JSONToORC/.*/.*/zstd' -count 3 ./writer/orc/
func BenchmarkJSONToORC(b *testing.B) {
	for _, s := range []struct {
		name   string
		schema string
		recs   func(int) ([][]byte, int64)
	}{{"log", logSchema, logRecords}, {"quickstart", loggen.Schema, quickstartRecords}} {
		recs, jsonBytes := s.recs(50000)
		schema, err := ParseSchema(s.schema)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range appendPaths {
			for _, c := range []struct {
				name string
				comp spec.CompressionKind
			}{{"zstd", spec.CompressionZstd}, {"zlib", spec.CompressionZlib}, {"none", spec.CompressionNone}} {
				if p.name != "onepass" && c.comp != spec.CompressionZstd {
					continue
				}
				b.Run("schema="+s.name+"/path="+p.name+"/"+c.name, func(b *testing.B) {
					b.SetBytes(jsonBytes / int64(len(recs)))
					b.ReportAllocs()
					var out countingWriter
					w, err := NewWriter(&out, schema, WithCompression(c.comp, 0))
					if err != nil {
						b.Fatal(err)
					}
					add := p.new(w)
					start, cpu := time.Now(), cpuTime()
					for i := 0; i < b.N; i++ {
						if err := add(recs[i%len(recs)]); err != nil {
							b.Fatal(err)
						}
					}
					if err := w.Close(nil); err != nil {
						b.Fatal(err)
					}
					el, cs := time.Since(start).Seconds(), (cpuTime() - cpu).Seconds()
					b.ReportMetric(float64(b.N)/el, "rows/s")
					b.ReportMetric(float64(b.N)/cs, "rows/cpu-s")
					b.ReportMetric(float64(out.n)/float64(b.N), "B/row")
				})
			}
		}
	}
}

// BenchmarkAppendOnly isolates the per-record conversion (no stripe
// flushes): it must not allocate.
func BenchmarkAppendOnly(b *testing.B) {
	recs, _ := logRecords(20000)
	schema, _ := ParseSchema(logSchema)
	for _, p := range appendPaths {
		b.Run("path="+p.name, func(b *testing.B) {
			w, err := NewWriter(io.Discard, schema, WithStripeSize(1<<30))
			if err != nil {
				b.Fatal(err)
			}
			add := p.new(w)
			for _, r := range recs {
				if err := add(r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := add(recs[i%len(recs)]); err != nil {
					b.Fatal(err)
				}
				if w.stripeRows >= 200000 {
					b.StopTimer()
					for _, c := range w.cols {
						c.reset(false)
					}
					w.stripeRows, w.rgRows = 0, 0
					b.StartTimer()
				}
			}
		})
	}
}

// BenchmarkHourFile writes what the pipeline writes in BenchmarkPipeline:
// files of an hour of the quickstart's records (72,000, one every 50 ms),
// each from fresh buffers (the hours' files are open together, so none
// takes a closed one's from the pool).
//
//	go test -run '^$' -bench 'HourFile' -count 5 ./writer/orc/
func BenchmarkHourFile(b *testing.B) {
	const rows = 72000
	recs, jsonBytes := quickstartRecords(rows)
	schema, err := ParseSchema(loggen.Schema)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(jsonBytes)
	b.ReportAllocs()
	b.ResetTimer()
	var out countingWriter
	start, cpu := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		w, err := NewWriter(&out, schema)
		if err != nil {
			b.Fatal(err)
		}
		add := appendPaths[0].new(w)
		for _, r := range recs {
			if err := add(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(nil); err != nil {
			b.Fatal(err)
		}
	}
	el, cs := time.Since(start).Seconds(), (cpuTime() - cpu).Seconds()
	b.ReportMetric(float64(b.N*rows)/el, "rows/s")
	b.ReportMetric(float64(b.N*rows)/cs, "rows/cpu-s")
	b.ReportMetric(float64(out.n)/float64(b.N*rows), "B/row")
}
