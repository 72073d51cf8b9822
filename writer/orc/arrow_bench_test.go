package orc

import (
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/valyala/fastjson"
)

// BenchmarkBuffersArrowVsTyped measures the stage between the JSON parser
// and the encoders: appending one parsed log record to Apache Arrow builders
// (the planned in-memory representation) versus this package's typed column
// buffers. Both start from the same fastjson parse; the typed path also
// hashes strings into the stripe dictionary, which the Arrow path would
// still have to do afterwards. The numbers decide the design (see doc.go).
func BenchmarkBuffersArrowVsTyped(b *testing.B) {
	recs, _ := logRecords(20000)
	schema, _ := ParseSchema(logSchema)

	b.Run("typed", func(b *testing.B) {
		w, err := NewWriter(nil, schema, WithStripeSize(1<<30))
		if err != nil {
			b.Fatal(err)
		}
		var parser fastjson.Parser
		var cv converter
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			v, err := parser.ParseBytes(recs[i%len(recs)])
			if err != nil {
				b.Fatal(err)
			}
			if err := cv.appendRoot(w.root, v); err != nil {
				b.Fatal(err)
			}
			if i%100000 == 99999 {
				for _, c := range w.cols {
					c.reset(false)
				}
			}
		}
	})

	b.Run("arrow", func(b *testing.B) {
		fields := []arrow.Field{
			{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_ns, Nullable: true},
			{Name: "ts_ms", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		}
		strs := []string{"level", "service", "host", "region", "method", "path"}
		for _, n := range strs {
			fields = append(fields, arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true})
		}
		fields = append(fields,
			arrow.Field{Name: "status", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
			arrow.Field{Name: "latency_ms", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
			arrow.Field{Name: "bytes_in", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			arrow.Field{Name: "bytes_out", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			arrow.Field{Name: "user_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true})
		strs2 := []string{"session_id", "request_id", "trace_id", "user_agent", "client_ip", "message"}
		for _, n := range strs2 {
			fields = append(fields, arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true})
		}
		fields = append(fields,
			arrow.Field{Name: "retry", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
			arrow.Field{Name: "tags", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true})
		rb := array.NewRecordBuilder(memory.NewGoAllocator(), arrow.NewSchema(fields, nil))
		defer rb.Release()
		var p fastjson.Parser
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			v, err := p.ParseBytes(recs[i%len(recs)])
			if err != nil {
				b.Fatal(err)
			}
			for fi, f := range fields {
				fv := v.Get(f.Name)
				fb := rb.Field(fi)
				if fv == nil || fv.Type() == fastjson.TypeNull {
					fb.AppendNull()
					continue
				}
				switch bld := fb.(type) {
				case *array.TimestampBuilder:
					secs, nanos, _, ok := parseTimestamp(fv.GetStringBytes())
					if !ok {
						b.Fatal("timestamp")
					}
					bld.Append(arrow.Timestamp(secs*1e9 + int64(nanos)))
				case *array.Int64Builder:
					n, _ := fv.Int64()
					bld.Append(n)
				case *array.Int32Builder:
					n, _ := fv.Int64()
					bld.Append(int32(n))
				case *array.Float64Builder:
					f, _ := fv.Float64()
					bld.Append(f)
				case *array.StringBuilder:
					bld.BinaryBuilder.Append(fv.GetStringBytes())
				case *array.BooleanBuilder:
					bld.Append(fv.GetBool())
				case *array.MapBuilder:
					obj, _ := fv.Object()
					bld.Append(true)
					kb := bld.KeyBuilder().(*array.StringBuilder)
					ib := bld.ItemBuilder().(*array.StringBuilder)
					obj.Visit(func(k []byte, e *fastjson.Value) {
						kb.BinaryBuilder.Append(k)
						ib.BinaryBuilder.Append(e.GetStringBytes())
					})
				}
			}
			if i%100000 == 99999 {
				rec := rb.NewRecord() // what the encoders would read
				rec.Release()
			}
		}
	})
}
