package orc

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/orc/spec"
)

// FuzzParseSchema: any input either fails with an error or gives a schema
// that prints back to a string which parses to the same schema, and that a
// writer accepts.
func FuzzParseSchema(f *testing.F) {
	for _, s := range []string{logSchema, allTypesSchema, "struct<>", "struct<`a b`:int>", "struct<a:decimal>",
		"struct<a:map<int,array<struct<b:char(3)>>>>", "struct<a:int,A:int>", "int", "struct<a:varchar(0)>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, err := ParseSchema(s)
		if err != nil {
			return
		}
		printed := typ.String()
		again, err := ParseSchema(printed)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, printed, err)
		}
		if again.String() != printed {
			t.Fatalf("%q printed as %q, then as %q", s, printed, again.String())
		}
		if _, err := NewWriter(io.Discard, typ); err != nil {
			t.Fatalf("writer rejects schema %q: %v", printed, err)
		}
	})
}

// FuzzAppendRecords feeds newline-separated records to a writer. Each must
// be accepted or rejected with a *writer.RecordError (never another error,
// never a panic), and the file must be byte for byte the file written from
// the accepted records alone: a rejected record leaves no trace.
func FuzzAppendRecords(f *testing.F) {
	schema, err := ParseSchema(allTypesSchema)
	if err != nil {
		f.Fatal(err)
	}
	g := newGen(5)
	for i := 0; i < 8; i++ {
		var b bytes.Buffer
		for j := 0; j < 1+i; j++ {
			js, _ := g.record(schema)
			b.WriteString(js)
			b.WriteByte('\n')
		}
		f.Add(b.Bytes())
	}
	f.Add([]byte(`{"i":"12x"}` + "\n" + `{"dec":"1e40"}` + "\n" + `{"ts":"2024-13-01 00:00:00"}` + "\n" + `{"bin":"!!"}`))
	f.Add([]byte(`{"m":{"a":1,"b":[1]},"st":{"z":[1,"x"]}}` + "\n" + `{"mi":{"x":{}}}` + "\n" + `{"c":"ééééé"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var all, accepted bytes.Buffer
		wa, err := NewWriter(&all, schema, WithRowIndexStride(3), WithCompression(spec.CompressionNone, 0))
		if err != nil {
			t.Fatal(err)
		}
		wb, err := NewWriter(&accepted, schema, WithRowIndexStride(3), WithCompression(spec.CompressionNone, 0))
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range bytes.Split(data, []byte{'\n'}) {
			err := wa.Append(rec)
			if err == nil {
				if err := wb.Append(rec); err != nil {
					t.Fatalf("accepted once, rejected the second time: %q: %v", rec, err)
				}
				continue
			}
			var re *writer.RecordError
			if !errors.As(err, &re) {
				t.Fatalf("record %q: error %v is not a *writer.RecordError", rec, err)
			}
		}
		if err := wa.Close(nil); err != nil {
			t.Fatal(err)
		}
		if err := wb.Close(nil); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(all.Bytes(), accepted.Bytes()) {
			t.Fatal("rejected records changed the file")
		}
	})
}
