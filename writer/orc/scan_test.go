package orc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/committer/jsonscan"
	"github.com/landfall/landfall/writer"
)

// pair is a one-pass scanner and a reference scanner for one schema.
type pair struct {
	fast, ref *Scanner
	field     string
}

func newPair(t testing.TB, schema, field string, o *options) *pair {
	t.Helper()
	typ, err := ParseSchema(schema)
	if err != nil {
		t.Fatal(err)
	}
	if o == nil {
		d := defaultOptions()
		o = &d
	}
	return &pair{fast: newScanner(typ, o, field), ref: newScanner(typ, o, field), field: field}
}

// check runs both paths on rec. When the one pass takes the record, it
// must be valid JSON (jsonscan, i.e. encoding/json.Valid), give the field
// jsonscan.ScanFold gives, and convert it to exactly the reference's
// values; when it does not, the reference must still answer without a
// panic. It reports whether the one pass took it.
func (p *pair) check(t testing.TB, rec []byte) bool {
	t.Helper()
	row, field, ok := p.fast.Scan(rec)
	ref := p.ref.Convert(rec)
	if !ok {
		if ref.err != nil {
			var re *writer.RecordError
			if !errors.As(ref.err, &re) {
				t.Fatalf("%q: reference error %v is not a *writer.RecordError", rec, ref.err)
			}
		}
		return false
	}
	if ref.err != nil {
		t.Fatalf("%q: one pass took it, the reference rejects it: %v", rec, ref.err)
	}
	val, kind, esc, err := jsonscan.ScanFold(rec, lowerString(p.field))
	if err != nil {
		t.Fatalf("%q: one pass took it, jsonscan says: %v", rec, err)
	}
	if p.field != "" {
		gv, gk, ge := classify(field)
		if gk != kind || ge != esc || !bytes.Equal(gv, val) {
			t.Fatalf("%q: field %q: one pass %q %v %v, jsonscan %q %v %v", rec, p.field, gv, gk, ge, val, kind, esc)
		}
	}
	for i, c := range p.fast.cols {
		if d := diffColumn(p.fast, c, p.ref, p.ref.cols[i]); d != "" {
			t.Fatalf("%q: column %q (%s): %s", rec, c.name, c.t, d)
		}
	}
	if row == nil || row.err != nil {
		t.Fatalf("%q: one pass took it and gave row %v", rec, row)
	}
	return true
}

// classify is committer's fieldValue: the raw member text as jsonscan
// returns it.
func classify(raw []byte) ([]byte, jsonscan.Kind, bool) {
	switch {
	case len(raw) == 0:
		return nil, jsonscan.Missing, false
	case raw[0] == '"':
		v := raw[1 : len(raw)-1]
		return v, jsonscan.String, bytes.IndexByte(v, '\\') >= 0
	case raw[0] == '-' || raw[0]-'0' < 10:
		return raw, jsonscan.Number, false
	}
	return raw, jsonscan.Other, false
}

func diffColumn(as *Scanner, a *column, bs *Scanner, b *column) string {
	switch {
	case fmt.Sprint(a.present) != fmt.Sprint(b.present) || a.nulls != b.nulls:
		return fmt.Sprintf("present %v (%d nulls), reference %v (%d)", a.present, a.nulls, b.present, b.nulls)
	case fmt.Sprint(a.ints) != fmt.Sprint(b.ints):
		return fmt.Sprintf("ints %v, reference %v", a.ints, b.ints)
	case fmt.Sprint(a.nanos) != fmt.Sprint(b.nanos):
		return fmt.Sprintf("nanos %v, reference %v", a.nanos, b.nanos)
	case fmt.Sprint(a.decs) != fmt.Sprint(b.decs):
		return fmt.Sprintf("decimals %v, reference %v", a.decs, b.decs)
	case len(a.floats) != len(b.floats):
		return fmt.Sprintf("floats %v, reference %v", a.floats, b.floats)
	case fmt.Sprintf("%q", rowStrings(as, a)) != fmt.Sprintf("%q", rowStrings(bs, b)):
		return fmt.Sprintf("strings %q, reference %q", rowStrings(as, a), rowStrings(bs, b))
	}
	for i := range a.floats {
		if math.Float64bits(a.floats[i]) != math.Float64bits(b.floats[i]) {
			return fmt.Sprintf("floats %v, reference %v", a.floats, b.floats)
		}
	}
	return ""
}

// rowStrings are the string values of a scratch column, which the one
// pass keeps as spans and the reference path as bytes.
func rowStrings(s *Scanner, c *column) [][]byte {
	var out [][]byte
	for _, v := range c.spans {
		out = append(out, s.spanBytes(v))
	}
	for i := range c.str.ends {
		out = append(out, c.str.directValue(i))
	}
	return out
}

// scanEdgeCases are records whose JSON details the one pass must read as
// the reference does.
var scanEdgeCases = []string{
	`{"s":"a\"b\\c\/d\b\f\n\r\t"}`,
	`{"s":"\u00e9\u65e5\uD83D\uDE00"}`,
	`{"s":"\ud800"}`, `{"s":"\ud800x"}`, `{"s":"\ud800\u0041"}`, `{"s":"\udc00\ud800"}`, `{"s":"\ud800\ud800\udc00"}`,
	`{"s":"` + "\xff\xfe" + `"}`,
	`{"S":"upper"}`, `{"s":"a","S":"b"}`, `{"s":"a","s":1}`, `{"\u0073":"escaped key"}`, `{"\u0053":"escaped upper key"}`,
	`{"s":12.50}`, `{"s":-0}`, `{"s":1e400}`, `{"s":true}`, `{"s":false}`, `{"s":null}`, `{"s":{"x":[1,2]}}`, `{"s":[]}`,
	`{"i":1e3}`, `{"i":5.0}`, `{"i":-0.0}`, `{"i":1.5}`, `{"i":9223372036854775807}`, `{"i":-9223372036854775808}`,
	`{"i":9223372036854775808}`, `{"i":123456789012345678}`, `{"i":1234567890123456789}`, `{"i":"  42 "}`, `{"i":"+7"}`,
	`{"i":1E2}`, `{"i":1e-2}`, `{"i":100e-2}`, `{"i":0.1e1}`, `{"i":2147483648}`, `{"t":128}`, `{"t":-128}`,
	`{"d":0.1}`, `{"d":"NaN"}`, `{"d":"-Infinity"}`, `{"d":" 2.5 "}`, `{"d":1e400}`, `{"d":4.9e-324}`, `{"f":3.4028235e38}`, `{"f":1e39}`,
	`{"b":true}`, `{"b":"TRUE"}`, `{"b":"fAlSe"}`, `{"b":1}`, `{"b":"yes"}`,
	`{"ts":1709251199123}`, `{"ts":-1001}`, `{"ts":-1}`, `{"ts":"2024-02-29 23:59:59.123456789"}`, `{"ts":"2024-02-29T23:59:59+01:00"}`,
	`{"ts":"2024-02-29T23:59:59.5Z"}`, `{"ts":"2024-02-29"}`, `{"ts":"1969-12-31 23:59:59.0001"}`, `{"ts":1.5e3}`,
	`{"dt":"1969-12-31"}`, `{"dt":19000}`, `{"dt":2147483648}`,
	`{"dec":123.455}`, `{"dec":"-123.454"}`, `{"dec":1.5e2}`, `{"dec":999.995}`, `{"dec":-0}`,
	`{"bin":"AQID"}`, `{"bin":"!!"}`, `{"bin":""}`, `{"bin":"AQ\u003d\u003d"}`,
	`{"vc":"héllo wörld"}`, `{"ch":"ab"}`, `{"ch":"abcdef"}`, `{"ch":true}`, `{"ch":7}`,
	`{"arr":[1,null,3]}`, `{"arr":[]}`, `{"arr":[1,"2",3]}`, `{"arr":[1,"x"]}`, `{"arr":{}}`,
	`{"m":{"a":"1","a":"2"}}`, `{"m":{}}`, `{"m":{"\u0041":null}}`, `{"mi":{"7":1,"-1":2}}`, `{"mi":{"x":1}}`,
	`{"st":{"x":1,"y":"z"}}`, `{"st":{"X":1,"x":2}}`, `{"st":null}`, `{"st":{}}`, `{"st":[]}`,
	`{"la":[{"x":1},{"y":"a"},null,{}]}`, `{"la":[{"x":1,"x":2}]}`,
	`{}`, ` { } `, "\t{\"s\":\"x\"}\r\n", `[]`, `"x"`, `1`, `null`, ``, ` `, `{`, `{"s"`, `{"s":`, `{"s":"x"`, `{"s":"x",}`,
	`{"s":"x"}x`, `{"s":"x"} {}`, `{"s":01}`, `{"s":1.}`, `{"s":.5}`, `{"s":-}`, `{"s":1e}`, `{"s":+1}`, `{"s":NaN}`,
	`{"s":tru}`, `{"s":nul}`, `{"s":"a` + "\n" + `b"}`, `{"s":"\x"}`, `{"s":"\u12"}`, `{"s":"\u12G4"}`, `{s:1}`, `{"s" 1}`,
	`{"x":[1,2,{"y":[true,false,null,"\u0000"]}],"s":"after"}`, `{"x":{"a":[}}`, `{"x":[1,]}`, `{"x":[,1]}`,
	`{"x":` + strings.Repeat("[", 150) + strings.Repeat("]", 150) + `}`,
	`{"x":` + strings.Repeat("[", 400) + strings.Repeat("]", 400) + `}`,
}

const scanSchema = "struct<s:string,i:bigint,t:tinyint,d:double,f:float,b:boolean,ts:timestamp,dt:date," +
	"dec:decimal(5,2),bin:binary,vc:varchar(5),ch:char(4),arr:array<bigint>,m:map<string,string>," +
	"mi:map<int,bigint>,st:struct<x:int,y:string>,la:array<struct<x:int,y:string>>>"

func TestScanMatchesReferenceOnEdgeCases(t *testing.T) {
	for _, field := range []string{"", "s", "ts", "x"} {
		p := newPair(t, scanSchema, field, nil)
		for _, rec := range scanEdgeCases {
			p.check(t, []byte(rec))
		}
	}
	// Every one of these must take the one pass: they are what valid
	// records look like, and a regression to the reference path would
	// only show as lost speed.
	p := newPair(t, scanSchema, "ts", nil)
	for _, rec := range []string{`{"s":"a\"b\\c\/d\b\f\n\r\t"}`, `{"S":"upper"}`, `{"i":1e3}`, `{"ts":1709251199123}`,
		`{"m":{"a":"1","a":"2"}}`, `{"la":[{"x":1},{"y":"a"},null,{}]}`, `{"x":[1,2,{"y":[true,false,null,"\u0000"]}],"s":"after"}`} {
		if !p.check(t, []byte(rec)) {
			t.Errorf("%s: left to the reference path", rec)
		}
	}
}

// TestScanTimestampsInTheZone: instants become wall clocks of the
// partition zone on both paths, across a DST change.
func TestScanTimestampsInTheZone(t *testing.T) {
	// The reader package embeds the zone database (time/tzdata), so the
	// zone loads on any host.
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	o := defaultOptions()
	o.zone = loc
	p := newPair(t, scanSchema, "ts", &o)
	for ms := time.Date(2024, 3, 10, 5, 0, 0, 0, time.UTC).UnixMilli(); ms < time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC).UnixMilli(); ms += 1799999 {
		for _, rec := range []string{`{"ts":` + strconv.FormatInt(ms, 10) + `}`,
			`{"ts":"` + time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) + `"}`} {
			if !p.check(t, []byte(rec)) {
				t.Fatalf("%s: left to the reference path", rec)
			}
		}
	}
}

// TestScanMatchesReferenceOnGeneratedRecords: the log generators' records
// (the benchmarks' and the quickstart's) and random records of random
// schemas convert alike, and every valid one takes the one pass.
func TestScanMatchesReferenceOnGeneratedRecords(t *testing.T) {
	p := newPair(t, logSchema, "ts", nil)
	g := newLogGen(3)
	for i := 0; i < 5000; i++ {
		if rec := g.next(); !p.check(t, rec) {
			t.Fatalf("%s: left to the reference path", rec)
		}
	}
	q := newPair(t, loggen.Schema, "ts", nil)
	lg := loggen.New(3)
	lg.BadFraction = 0.05
	et := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5000; i++ {
		rec, kind := lg.Next(nil, et)
		if !q.check(t, rec) && kind != loggen.Malformed {
			t.Fatalf("%s: left to the reference path", rec)
		}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for s := 0; s < 60; s++ {
		schema := randomStruct(rng, 0, 1+rng.IntN(8))
		typ, err := ParseSchema(schema)
		if err != nil {
			t.Fatal(err)
		}
		r := newPair(t, schema, typ.FieldNames[0], nil)
		gg := newGen(uint64(s))
		for i := 0; i < 50; i++ {
			js, _ := gg.record(typ)
			r.check(t, []byte(js))
		}
	}
	a := newPair(t, allTypesSchema, "ts", nil)
	ga := newGen(7)
	at, _ := ParseSchema(allTypesSchema)
	for i := 0; i < 2000; i++ {
		js, _ := ga.record(at)
		a.check(t, []byte(js))
	}
}

// TestScanMatchesReferenceOnFuzzCorpus runs the checked-in fuzz corpora of
// this package and of jsonscan through both paths.
func TestScanMatchesReferenceOnFuzzCorpus(t *testing.T) {
	pairs := []*pair{newPair(t, scanSchema, "ts", nil), newPair(t, allTypesSchema, "a", nil), newPair(t, logSchema, "ts", nil)}
	n := 0
	for _, dir := range []string{"testdata/fuzz/FuzzAppendRecords", "testdata/fuzz/FuzzScanner",
		"../../committer/jsonscan/testdata/fuzz/FuzzScan", "../../committer/jsonscan/testdata/fuzz/FuzzScanFoldConverter"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, arg := range corpusArgs(t, b) {
				for _, rec := range append(bytes.Split(arg, []byte{'\n'}), arg) {
					for _, p := range pairs {
						p.check(t, rec)
					}
					n++
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d corpus records", n)
	}
}

// corpusArgs reads the []byte and string arguments of a corpus file in
// the "go test fuzz v1" format.
func corpusArgs(t *testing.T, b []byte) [][]byte {
	var out [][]byte
	for _, l := range strings.Split(string(b), "\n")[1:] {
		var lit string
		switch {
		case strings.HasPrefix(l, "[]byte(") && strings.HasSuffix(l, ")"):
			lit = l[len("[]byte(") : len(l)-1]
		case strings.HasPrefix(l, "string(") && strings.HasSuffix(l, ")"):
			lit = l[len("string(") : len(l)-1]
		default:
			continue
		}
		s, err := strconv.Unquote(lit)
		if err != nil {
			t.Fatalf("corpus line %q: %v", l, err)
		}
		out = append(out, []byte(s))
	}
	return out
}

// FuzzScanner: the one pass never panics, takes only valid JSON
// (encoding/json.Valid), and when it takes a record it converts it exactly
// as the reference path does and finds the field jsonscan finds. A record
// it does not take gets its answer from the reference path, which names a
// reason.
func FuzzScanner(f *testing.F) {
	for _, rec := range scanEdgeCases {
		f.Add([]byte(rec), "s")
	}
	g := newLogGen(9)
	for i := 0; i < 5; i++ {
		f.Add(append([]byte(nil), g.next()...), "ts")
	}
	pairs := map[string]*pair{}
	f.Fuzz(func(t *testing.T, rec []byte, field string) {
		if !utf8.ValidString(field) || strings.ContainsAny(field, "\\\uFFFD") {
			field = "s" // ScanFold's promise to agree holds for other names
		}
		p := pairs[field]
		if p == nil {
			p = newPair(t, scanSchema, field, nil)
			if len(pairs) < 64 {
				pairs[field] = p
			}
		}
		took := p.check(t, rec)
		if took && !json.Valid(rec) {
			t.Fatalf("%q: one pass took invalid JSON", rec)
		}
	})
}

// TestOnePassWritesTheSameFile: the one pass and the reference path write
// byte-identical files from the same records, invalid ones included, so the
// file size (and every reader's view) is unchanged.
func TestOnePassWritesTheSameFile(t *testing.T) {
	recs, _ := quickstartRecords(30000)
	lg := loggen.New(5)
	lg.BadFraction = 0.02
	et := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3000; i++ {
		rec, _ := lg.Next(nil, et)
		recs = append(recs, rec, []byte(`{"ts":1,"status":"x"}`), []byte(`{"TS":2,"ts":3,"tags":{"a":"\u00e9"}}`))
	}
	schema, err := ParseSchema(loggen.Schema)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, p := range appendPaths {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, schema, WithStripeSize(1<<20), WithRowIndexStride(1000))
		if err != nil {
			t.Fatal(err)
		}
		add := p.new(w)
		rejected := 0
		for _, rec := range recs {
			if err := add(rec); err != nil {
				if !errors.Is(err, writer.ErrInvalidRecord) && !strings.Contains(err.Error(), "offset") {
					t.Fatalf("%s: %q: %v", p.name, rec, err)
				}
				rejected++
			}
		}
		if err := w.Close(nil); err != nil {
			t.Fatal(err)
		}
		if rejected < 3000 {
			t.Fatalf("%s: only %d records rejected", p.name, rejected)
		}
		files[p.name] = buf.Bytes()
	}
	if !bytes.Equal(files["onepass"], files["fastjson"]) || !bytes.Equal(files["onepass"], files["jsonscan+fastjson"]) {
		t.Fatalf("files differ: one pass %d bytes, fastjson %d, jsonscan+fastjson %d",
			len(files["onepass"]), len(files["fastjson"]), len(files["jsonscan+fastjson"]))
	}
	t.Logf("%d records, %d bytes on every path", len(recs), len(files["onepass"]))
}

// TestScratchUse: clear empties only the buffers scratchUse names for a
// column's kind, so a buffer the scanner or the converter fills for a
// kind that scratchUse leaves out would carry values into the next row.
// After every Scan and Convert of records that fit (and of records of
// another schema, which mostly don't and stop halfway), no column may
// hold values in a buffer outside its kind's.
func TestScratchUse(t *testing.T) {
	g := newGen(91)
	for i := 0; i < 60; i++ {
		a, err := ParseSchema(randomStruct(g.rng, 0, 1+g.rng.IntN(8)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseSchema(randomStruct(g.rng, 0, 1+g.rng.IntN(8)))
		if err != nil {
			t.Fatal(err)
		}
		o := defaultOptions()
		sc := newScanner(a, &o, "")
		rg := newGen(uint64(i))
		rg.nullRate = []int{0, 2, 8}[i%3]
		for j := 0; j < 300; j++ {
			schema := a
			if j%2 == 1 {
				schema = b
			}
			js, _ := rg.record(schema)
			if _, _, ok := sc.Scan([]byte(js)); !ok {
				sc.Convert([]byte(js))
			}
			for _, c := range sc.cols {
				u := scratchUse(c.t.Kind)
				for _, f := range []struct {
					use int
					n   int
				}{{useInts, len(c.ints)}, {useNanos, len(c.nanos)}, {useFloats, len(c.floats)}, {useDecs, len(c.decs)},
					{useStr, len(c.spans) + len(c.str.ends) + len(c.str.ids)}} {
					if u&f.use == 0 && f.n > 0 {
						t.Fatalf("schema %s, record %s: column %q (%v) holds %d values in buffer %#x, which scratchUse leaves out",
							a, js, c.name, c.t.Kind, f.n, f.use)
					}
				}
			}
		}
	}
}
