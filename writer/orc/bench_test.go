package orc

import (
	"io"
	"testing"
	"time"

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

// BenchmarkJSONToORC measures the whole path a pipeline record takes: JSON
// parse, conversion, encoding, compression, on realistic log records (one
// core: a writer is used by one goroutine). It reports rows/s and the output
// bytes per row.
func BenchmarkJSONToORC(b *testing.B) {
	recs, jsonBytes := logRecords(50000)
	schema, err := ParseSchema(logSchema)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		comp spec.CompressionKind
	}{{"zstd", spec.CompressionZstd}, {"zlib", spec.CompressionZlib}, {"none", spec.CompressionNone}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(jsonBytes / int64(len(recs)))
			b.ReportAllocs()
			var out countingWriter
			w, err := NewWriter(&out, schema, WithCompression(c.comp, 0))
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := w.Append(recs[i%len(recs)]); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(nil); err != nil {
				b.Fatal(err)
			}
			el := time.Since(start).Seconds()
			b.ReportMetric(float64(b.N)/el, "rows/s")
			b.ReportMetric(float64(out.n)/float64(b.N), "B/row")
		})
	}
}

// BenchmarkAppendOnly isolates the per-record conversion (no stripe
// flushes): it must not allocate.
func BenchmarkAppendOnly(b *testing.B) {
	recs, _ := logRecords(20000)
	schema, _ := ParseSchema(logSchema)
	w, err := NewWriter(io.Discard, schema, WithStripeSize(1<<30))
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Append(r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.Append(recs[i%len(recs)]); err != nil {
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
}
