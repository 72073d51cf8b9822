package committer

import (
	"bytes"
	"testing"
	"time"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/writer/orc"
)

// TestOnePassEventTime: for an ORC table, the event time handle reads from
// the one-pass scan is the one eventKeyScanner (jsonscan.ScanFold) finds,
// for every record the one pass takes; the others go through
// eventKeyScanner itself.
func TestOnePassEventTime(t *testing.T) {
	schema, err := orc.ParseSchema(loggen.Schema)
	if err != nil {
		t.Fatal(err)
	}
	f, err := orc.NewFormat(schema)
	if err != nil {
		t.Fatal(err)
	}
	recs := [][]byte{
		[]byte(`{"ts":1,"Ts":2,"x":{"ts":3,"TS":3},"TS":4,"t\u0053":6}`), // ts is a column: a key twice, the reference path
		[]byte(`{"x":{"ts":3},"TS":"2026-11-21T00:00:00Z"}`),
		[]byte(`{"TS":"a\"b","id":"1"}`),
		[]byte(`{"id":"no event time"}`),
		[]byte(`{"ts":null}`), []byte(`{"ts":{"a":1}}`), []byte(`{"ts":-1.5e3}`), []byte(`{"ts":true}`),
	}
	g := loggen.New(1)
	g.BadFraction = 0.05
	for i := 0; i < 2000; i++ {
		rec, _ := g.Next(nil, time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC))
		recs = append(recs, rec)
	}
	for _, field := range []string{"ts", "TS"} {
		var cfg Config
		cfg.Format.Name, cfg.EventTime.Field = "orc", field
		key := eventKeyScanner(cfg)
		sc := f.NewScanner(field)
		took := 0
		for _, rec := range recs {
			_, raw, ok := sc.Scan(rec)
			if !ok {
				continue
			}
			took++
			val, kind, esc := fieldValue(raw)
			wv, wk, we, err := key(rec)
			if err != nil || kind != wk || esc != we || !bytes.Equal(val, wv) {
				t.Fatalf("%s, field %q: one pass %q %v %v, eventKeyScanner %q %v %v %v", rec, field, val, kind, esc, wv, wk, we, err)
			}
		}
		if took < 1900 {
			t.Fatalf("field %q: the one pass took only %d of %d records", field, took, len(recs))
		}
	}
}
