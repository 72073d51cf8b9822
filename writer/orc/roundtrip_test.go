package orc

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/writer/orc/reader"
	"github.com/landfall/landfall/writer/orc/spec"
)

// canonReader turns a value of this repository's ORC reader into canonical
// form (see gen_test.go).
func canonReader(t *Type, v any) (string, error) {
	if v == nil {
		return "null", nil
	}
	switch t.Kind {
	case spec.TypeBoolean:
		return strconv.FormatBool(v.(bool)), nil
	case spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong:
		return strconv.FormatInt(v.(int64), 10), nil
	case spec.TypeFloat:
		return canonFloat(float64(v.(float32)), 32), nil
	case spec.TypeDouble:
		return canonFloat(v.(float64), 64), nil
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		s := v.(string)
		if t.Kind == spec.TypeChar {
			s = strings.TrimRight(s, " ")
		}
		return strconv.Quote(s), nil
	case spec.TypeBinary:
		return hex.EncodeToString(v.([]byte)), nil
	case spec.TypeTimestamp:
		ts := v.(time.Time)
		return canonTimestamp(ts.Unix(), int64(ts.Nanosecond())), nil
	case spec.TypeDate:
		return strconv.FormatInt(floorDiv(v.(time.Time).Unix(), 86400), 10), nil
	case spec.TypeDecimal:
		d := v.(reader.Decimal)
		p, ok := parseDecimal([]byte(d.String()), t.Precision, t.Scale)
		if !ok {
			return "", fmt.Errorf("decimal %s does not fit %s", d.String(), t)
		}
		return decimalString(p, t.Scale), nil
	case spec.TypeStruct:
		fields := v.([]reader.Field)
		if len(fields) != len(t.Children) {
			return "", fmt.Errorf("struct of %d fields, want %d", len(fields), len(t.Children))
		}
		parts := make([]string, len(fields))
		for i, f := range fields {
			var err error
			if parts[i], err = canonReader(t.Children[i], f.Value); err != nil {
				return "", err
			}
		}
		return "{" + strings.Join(parts, ",") + "}", nil
	case spec.TypeList:
		arr := v.([]any)
		parts := make([]string, len(arr))
		for i, e := range arr {
			var err error
			if parts[i], err = canonReader(t.Children[0], e); err != nil {
				return "", err
			}
		}
		return "[" + strings.Join(parts, ",") + "]", nil
	case spec.TypeMap:
		kvs := v.([]reader.KeyValue)
		parts := make([]string, len(kvs))
		for i, kv := range kvs {
			k, err := canonReader(t.Children[0], kv.Key)
			if err != nil {
				return "", err
			}
			val, err := canonReader(t.Children[1], kv.Value)
			if err != nil {
				return "", err
			}
			parts[i] = k + ":" + val
		}
		return "{" + strings.Join(parts, ",") + "}", nil
	}
	return "", fmt.Errorf("unexpected type %v", t.Kind)
}

// readAll reads a file with the reader package into canonical rows.
func readAll(t testing.TB, data []byte, schema *Type) []string {
	t.Helper()
	f, err := reader.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("reader.Open: %v", err)
	}
	defer f.Close()
	rows, err := f.Rows()
	if err != nil {
		t.Fatalf("reader rows: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		c, err := canonReader(schema, rows.Value())
		if err != nil {
			t.Fatalf("row %d: %v", len(out), err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reader rows: %v", err)
	}
	return out
}

// TestRoundTripRandom is the property test: random schemas, random records
// (nulls everywhere, missing fields, mixed spellings), random writer options;
// what the reader gets back must equal what went in.
func TestRoundTripRandom(t *testing.T) {
	g := newGen(2024)
	comps := []spec.CompressionKind{spec.CompressionNone, spec.CompressionZlib, spec.CompressionZstd, spec.CompressionSnappy, spec.CompressionLZ4}
	for i := 0; i < 60; i++ {
		schemaStr := randomStruct(g.rng, 0, 1+g.rng.IntN(8))
		schema, err := ParseSchema(schemaStr)
		if err != nil {
			t.Fatal(err)
		}
		opts := []Option{
			WithCompression(comps[g.rng.IntN(len(comps))], 0),
			WithRowIndexStride(1 + g.rng.IntN(3000)),
			WithBlockSize(1024 << g.rng.IntN(9)),
			WithStripeSize(16<<10 + g.rng.IntN(2<<20)),
			WithDictionaryThreshold([]float64{0, 0.3, 0.8, 1}[g.rng.IntN(4)]),
		}
		var buf bytes.Buffer
		w, err := NewWriter(&buf, schema, opts...)
		if err != nil {
			t.Fatal(err)
		}
		rg := newGen(uint64(i))
		rg.nullRate = []int{0, 2, 8, 50}[i%4]
		n := g.rng.IntN(8000)
		want := make([]string, 0, n)
		for j := 0; j < n; j++ {
			js, c := rg.record(schema)
			if err := w.Append([]byte(js)); err != nil {
				t.Fatalf("schema %s: append %s: %v", schemaStr, js, err)
			}
			want = append(want, c)
		}
		if err := w.Close(nil); err != nil {
			t.Fatal(err)
		}
		got := readAll(t, buf.Bytes(), schema)
		if len(got) != len(want) {
			t.Fatalf("schema %s: read %d rows, wrote %d", schemaStr, len(got), len(want))
		}
		for j := range want {
			if got[j] != want[j] {
				t.Fatalf("schema %s row %d:\n got  %s\n want %s", schemaStr, j, got[j], want[j])
			}
		}
	}
}
