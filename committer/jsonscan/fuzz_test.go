package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// FuzzScan compares Scan and ScanFold with encoding/json: validity with
// json.Valid, the error's offset with json.Unmarshal's, and the value with
// the last top-level member json.Decoder reads whose key matches. It also
// runs the fast path alone: when it answers, it must be right.
func FuzzScan(f *testing.F) {
	for _, c := range validity {
		f.Add([]byte(c.in), "a")
	}
	for _, c := range values {
		f.Add([]byte(c.in), c.key)
	}
	for _, c := range foldValues {
		f.Add([]byte(c.in), c.key)
	}
	for _, rec := range genRecords(20, 1) {
		f.Add(rec, "ts")
	}
	f.Fuzz(func(t *testing.T, b []byte, key string) {
		check(t, b, key)
		for _, fold := range []bool{false, true} {
			k := NewKey(key, fold)
			if val, kind, esc, ok := fast(b, &k); ok {
				v2, k2, e2, err := scan(b, key, fold)
				if err != nil || !sameBytes(val, v2) || kind != k2 || esc != e2 {
					t.Fatalf("fast(%q, %q, fold %v) = %q %v %v; exact path: %q %v %v %v", b, key, fold, val, kind, esc, v2, k2, e2, err)
				}
			}
		}
	})
}

// FuzzScanFoldConverter checks ScanFold against the ORC converter's rule
// (writer/orc, appendFields): fastjson's keys, ASCII letters lower-cased,
// against the lower-case column name; the last member wins. Only column
// names for which ScanFold promises to agree are tried: valid UTF-8 with
// no U+FFFD and no backslash.
func FuzzScanFoldConverter(f *testing.F) {
	for _, c := range values {
		f.Add([]byte(c.in), c.key)
	}
	for _, c := range foldValues {
		f.Add([]byte(c.in), c.key)
	}
	for _, rec := range genRecords(20, 1) {
		f.Add(rec, "ts")
	}
	var p fastjson.Parser
	f.Fuzz(func(t *testing.T, b []byte, key string) {
		column := strings.ToLower(key)
		if !utf8.ValidString(column) || strings.ContainsAny(column, "\ufffd\\") {
			return
		}
		val, kind, _, err := ScanFold(b, column)
		if err != nil {
			return
		}
		v, perr := p.ParseBytes(b)
		if perr != nil {
			return // fastjson's depth limit is lower
		}
		obj, oerr := v.Object()
		if oerr != nil {
			if kind != Missing {
				t.Fatalf("ScanFold(%q, %q) = %q, not an object", b, column, val)
			}
			return
		}
		var keys []string
		obj.Visit(func(k []byte, _ *fastjson.Value) { keys = append(keys, string(k)) })
		members := topLevel(t, b)
		if len(members) != len(keys) {
			t.Fatalf("%q: fastjson has %d members, encoding/json %d", b, len(keys), len(members))
		}
		var want []byte
		found := false
		for i, k := range keys {
			if foldASCII(k) == column {
				want, found = members[i].raw, true
			}
		}
		if !found {
			if kind != Missing {
				t.Fatalf("ScanFold(%q, %q) = %q, want Missing", b, column, val)
			}
			return
		}
		if kind == String {
			want = want[1 : len(want)-1]
		}
		if kind == Missing || !sameBytes(val, want) {
			t.Fatalf("ScanFold(%q, %q) = %q %v at %d, want %q at %d", b, column, val, kind, offsetIn(b, val), want, offsetIn(b, want))
		}
	})
}

type member struct {
	key string
	raw []byte // aliases the record
}

// topLevel returns the members of the object b, decoded by encoding/json.
func topLevel(t *testing.T, b []byte) []member {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var ms []member
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		end := int(dec.InputOffset())
		ms = append(ms, member{k.(string), b[end-len(v) : end]})
	}
	return ms
}

// FuzzUnquote compares Unquote with decoding the string with encoding/json.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{``, `abc`, `\"\\\/\b\f\n\r\t`, `\u00e9`, `\ud83d\ude00`, `\ud83d`, `\ude00\ud83d`, "\xff", `\`, `\u12`, `a"b`, "a\x01"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		quoted := append(append([]byte{'"'}, raw...), '"')
		got, err := Unquote(raw)
		if !json.Valid(quoted) {
			if err == nil {
				t.Fatalf("Unquote(%q) = %q, want an error", raw, got)
			}
			return
		}
		var want string
		if err := json.Unmarshal(quoted, &want); err != nil {
			t.Fatal(err)
		}
		if err != nil || string(got) != want {
			t.Fatalf("Unquote(%q) = %q, %v; want %q", raw, got, err, want)
		}
		// The key comparison decodes the same way.
		if !unquotedEqual(raw, want, false) {
			t.Fatalf("unquotedEqual(%q, %q) = false", raw, want)
		}
		if len(want) > 0 && unquotedEqual(raw, want[:len(want)-1], false) {
			t.Fatalf("unquotedEqual(%q, %q) = true", raw, want[:len(want)-1])
		}
		if up := upperASCII(want); !unquotedEqual(raw, up, true) {
			t.Fatalf("unquotedEqual(%q, %q, fold) = false", raw, up)
		}
	})
}

// FuzzMarks compares the SIMD marks with the word-at-a-time ones.
func FuzzMarks(f *testing.F) {
	for _, rec := range genRecords(20, 1) {
		f.Add(rec)
	}
	f.Add([]byte(`{"a":"\u0001\"\\ \x1f\x20\x7f\x80\xff"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkMarks(t, b)
	})
}
