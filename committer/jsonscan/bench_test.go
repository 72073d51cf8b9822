package jsonscan

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/valyala/fastjson"
)

// records returns n realistic log records from loggen (about 0.1% of them
// malformed, as in production), and their total size.
func records(tb testing.TB, n int) ([][]byte, int) {
	tb.Helper()
	g := loggen.New(1)
	et := time.Date(2025, 11, 21, 0, 0, 0, 0, time.UTC)
	recs := make([][]byte, n)
	size := 0
	for i := range recs {
		recs[i], _ = g.Next(nil, et.Add(time.Duration(i)*time.Millisecond))
		size += len(recs[i])
	}
	return recs, size
}

// Each benchmark op checks all 10,000 records; ns/record is the time per
// record. Scan's few allocations per op are the errors for the records
// loggen cuts short.
const benchRecords = 10000

func benchRecordsLoop(b *testing.B, f func(rec []byte) bool) {
	recs, size := records(b, benchRecords)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	ok := 0
	for b.Loop() {
		for _, rec := range recs {
			if f(rec) {
				ok++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRecords, "ns/record")
	if ok == 0 {
		b.Fatal("no record accepted")
	}
}

func BenchmarkScan(b *testing.B) {
	benchRecordsLoop(b, func(rec []byte) bool {
		val, kind, _, err := Scan(rec, "ts")
		return err == nil && kind == Number && len(val) > 0
	})
}

// BenchmarkKeyScan is Scan with the key prepared once, as the committer
// runs it.
func BenchmarkKeyScan(b *testing.B) {
	k := NewKey("ts", false)
	benchRecordsLoop(b, func(rec []byte) bool {
		val, kind, _, err := k.Scan(rec)
		return err == nil && kind == Number && len(val) > 0
	})
}

// BenchmarkScanFold is Scan as the committer runs it for ORC tables.
func BenchmarkScanFold(b *testing.B) {
	benchRecordsLoop(b, func(rec []byte) bool {
		val, kind, _, err := ScanFold(rec, "ts")
		return err == nil && kind == Number && len(val) > 0
	})
}

// BenchmarkScanExact is Scan without its fast path, as for records with
// tabs or newlines between tokens.
func BenchmarkScanExact(b *testing.B) {
	benchRecordsLoop(b, func(rec []byte) bool {
		val, kind, _, err := scan(rec, "ts", false)
		return err == nil && kind == Number && len(val) > 0
	})
}

func BenchmarkFastjson(b *testing.B) {
	var p fastjson.Parser
	benchRecordsLoop(b, func(rec []byte) bool {
		v, err := p.ParseBytes(rec)
		return err == nil && v.Get("ts") != nil
	})
}

func BenchmarkStdValid(b *testing.B) {
	benchRecordsLoop(b, json.Valid)
}
