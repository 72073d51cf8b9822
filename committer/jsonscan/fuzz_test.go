package jsonscan

import (
	"encoding/json"
	"testing"
)

// FuzzScan compares Scan with encoding/json: validity with json.Valid, the
// error's offset with json.Unmarshal's, and the value with the first
// top-level member json.Decoder reads. It also runs the fast path alone:
// when it answers, it must be right.
func FuzzScan(f *testing.F) {
	for _, c := range validity {
		f.Add([]byte(c.in), "a")
	}
	for _, c := range values {
		f.Add([]byte(c.in), c.key)
	}
	for _, rec := range genRecords(20, 1) {
		f.Add(rec, "ts")
	}
	f.Fuzz(func(t *testing.T, b []byte, key string) {
		check(t, b, key)
		if val, kind, esc, ok := fast(b, key); ok {
			v2, k2, e2, err := scan(b, key)
			if err != nil || string(val) != string(v2) || kind != k2 || esc != e2 {
				t.Fatalf("fast(%q, %q) = %q %v %v; exact path: %q %v %v %v", b, key, val, kind, esc, v2, k2, e2, err)
			}
		}
	})
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
		if !unquotedEqual(raw, want) {
			t.Fatalf("unquotedEqual(%q, %q) = false", raw, want)
		}
		if len(want) > 0 && unquotedEqual(raw, want[:len(want)-1]) {
			t.Fatalf("unquotedEqual(%q, %q) = true", raw, want[:len(want)-1])
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
