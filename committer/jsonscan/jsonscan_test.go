package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/landfall/landfall/cmd/landfall/loggen"
)

// validity: each input, whether it is JSON, and why.
var validity = []struct {
	in    string
	valid bool
	why   string
}{
	{``, false, "empty input"},
	{` `, false, "only whitespace"},
	{`{}`, true, "empty object"},
	{`[]`, true, "empty array"},
	{` {} `, true, "surrounding whitespace"},
	{"\t\n\r {}\t\n\r ", true, "all four whitespace characters"},
	{"\f{}", false, "form feed is not whitespace"},
	{"\v{}", false, "vertical tab is not whitespace"},
	{"{}\x00", false, "NUL after the value"},
	{"\u00a0{}", false, "no-break space is not whitespace"},
	{`{}{}`, false, "two values"},
	{`{} x`, false, "trailing garbage"},
	{`1 2`, false, "two numbers"},
	{`{`, false, "unclosed object"},
	{`[`, false, "unclosed array"},
	{`{"a":1`, false, "object ends early"},
	{`{"a":1,}`, false, "trailing comma in object"},
	{`[1,]`, false, "trailing comma in array"},
	{`[,1]`, false, "leading comma"},
	{`{,}`, false, "lone comma"},
	{`{"a" 1}`, false, "missing colon"},
	{`{"a"::1}`, false, "double colon"},
	{`{"a":}`, false, "missing value"},
	{`{1:1}`, false, "number key"},
	{`{a:1}`, false, "bare key"},
	{`{'a':1}`, false, "single-quoted key"},
	{`{"a":1 "b":2}`, false, "missing comma"},
	{`[1 2]`, false, "missing comma in array"},
	{`{"a":1]`, false, "mismatched close"},
	{`[1}`, false, "mismatched close in array"},
	{`}`, false, "close only"},
	{`{"a":{"b":[1,{"c":null}]}}`, true, "nesting"},
	{`{"a":1,"a":2}`, true, "duplicate keys are allowed"},

	{`""`, true, "empty string"},
	{`"abc"`, true, "string"},
	{`"abc`, false, "unterminated string"},
	{`"\"\\\/\b\f\n\r\t"`, true, "every single-character escape"},
	{`"\u00e9\uD83D\uDE00"`, true, "unicode escapes, a surrogate pair"},
	{`"\uD83D"`, true, "a lone surrogate escape is still valid JSON"},
	{`"\uDE00\uD83D"`, true, "surrogates in the wrong order too"},
	{`"\u12"`, false, "short unicode escape"},
	{`"\u12G4"`, false, "non-hex in unicode escape"},
	{`"\U0041"`, false, "capital U escape"},
	{`"\x41"`, false, "\\x escape"},
	{`"\'"`, false, "escaped single quote"},
	{`"\a"`, false, "\\a escape"},
	{`"\0"`, false, "\\0 escape"},
	{`"\`, false, "backslash at the end"},
	{`"\"`, false, "escaped quote, no closing quote"},
	{"\"a\x00b\"", false, "NUL in a string"},
	{"\"a\nb\"", false, "newline in a string"},
	{"\"a\tb\"", false, "tab in a string"},
	{"\"a\x1fb\"", false, "0x1f in a string"},
	{"\"a\x7fb\"", true, "DEL is not a control character for JSON"},
	{"\"\xff\xfe\"", true, "invalid UTF-8 in a string: encoding/json does not check"},
	{"\"\xed\xa0\x80\"", true, "encoded surrogate in a string"},
	{"\"\xc3\"", true, "truncated UTF-8 sequence"},
	{"\xff", false, "a byte >= 0x80 outside a string"},
	{"{\"\xff\":1}", true, "invalid UTF-8 in a key"},
	{"\"é😀\"", true, "valid UTF-8"},

	{`0`, true, "zero"},
	{`-0`, true, "negative zero"},
	{`123`, true, "integer"},
	{`-123`, true, "negative"},
	{`1.5`, true, "fraction"},
	{`1e5`, true, "exponent"},
	{`1E5`, true, "capital exponent"},
	{`1e+5`, true, "signed exponent"},
	{`1e-5`, true, "negative exponent"},
	{`-0.0e-0`, true, "everything at once"},
	{`12345678901234567890123456789`, true, "any length"},
	{`01`, false, "leading zero"},
	{`-01`, false, "negative leading zero"},
	{`00`, false, "double zero"},
	{`+1`, false, "leading plus"},
	{`-`, false, "minus only"},
	{`- 1`, false, "space after minus"},
	{`1.`, false, "trailing dot"},
	{`.5`, false, "leading dot"},
	{`1.e5`, false, "dot then exponent"},
	{`1e`, false, "empty exponent"},
	{`1e+`, false, "signed empty exponent"},
	{`1e5.5`, false, "fraction in exponent"},
	{`0x10`, false, "hex"},
	{`1_000`, false, "digit separator"},
	{`NaN`, false, "NaN"},
	{`Infinity`, false, "Infinity"},
	{`-Infinity`, false, "minus Infinity"},
	{`[1.5e3,-0,0.25]`, true, "numbers in an array"},
	{`{"a":-}`, false, "minus only in an object"},
	{`{"a":01}`, false, "leading zero in an object"},
	{`{"a":1.}`, false, "trailing dot in an object"},
	{`{"a":-x}`, false, "minus then a letter"},
	{`{"a":-"x"}`, false, "minus then a string"},
	{`{"a":-.5}`, false, "minus then a dot"},
	{`{"a":-,"b":1}`, false, "minus then a comma"},
	{`{"a":1e+,"b":1}`, false, "sign then a comma in an exponent"},
	{`{"a":1.e1,"b":1}`, false, "dot then an exponent in an object"},
	{`{"a":0123,"b":1}`, false, "leading zero, then more members"},

	{`true`, true, "true"},
	{`false`, true, "false"},
	{`null`, true, "null"},
	{`tru`, false, "truncated true"},
	{`nul`, false, "truncated null"},
	{`True`, false, "capital True"},
	{`nulll`, false, "null with an extra l"},
	{`truefalse`, false, "two literals"},
	{`{"a":tru}`, false, "truncated true in an object"},
	{`{"a":falsy}`, false, "misspelt false"},
	{`[true,false,null]`, true, "literals in an array"},
	{`undefined`, false, "undefined"},

	{`{"a" : 1 , "b" : [ 1 , 2 ] }`, true, "spaces everywhere"},
	{"{\n\t\"a\": 1\r\n}", true, "pretty-printed"},
}

func TestValidity(t *testing.T) {
	for _, c := range validity {
		if got := json.Valid([]byte(c.in)); got != c.valid {
			t.Errorf("table is wrong for %q (%s): json.Valid = %v", c.in, c.why, got)
		}
		_, _, _, err := Scan([]byte(c.in), "a")
		if (err == nil) != c.valid {
			t.Errorf("Scan(%q) err = %v, want valid %v (%s)", c.in, err, c.valid, c.why)
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("Scan(%q) err is %T, want *SyntaxError", c.in, err)
			}
		}
	}
}

// values: the value Scan returns for key in each input.
var values = []struct {
	in, key string
	val     string
	kind    Kind
	escaped bool
	why     string
}{
	{`{"ts":1,"b":2}`, "ts", `1`, Number, false, "first member"},
	{`{"a":1,"ts":2}`, "ts", `2`, Number, false, "last member"},
	{`{"a":1,"b":2}`, "ts", ``, Missing, false, "missing"},
	{`{}`, "ts", ``, Missing, false, "empty object"},
	{`{"a":{"ts":1},"b":[{"ts":2}]}`, "ts", ``, Missing, false, "nested keys are not top-level"},
	{`{"a":{"ts":1},"ts":3}`, "ts", `3`, Number, false, "nested first, top-level after"},
	{`{"ts":1,"ts":2}`, "ts", `2`, Number, false, "duplicate key: the last"},
	{`{"ts":1,"msg":"a","ts":2,"b":3}`, "ts", `2`, Number, false, "duplicate key, members between and after"},
	{`{"ts":"a\"b","ts":2}`, "ts", `2`, Number, false, "an escaped string, then a number: not escaped"},
	{`{"ts":2,"ts":"a\"b"}`, "ts", `a\"b`, String, true, "a number, then an escaped string"},
	{`{"ts":{"ts":1},"ts":[2]}`, "ts", `[2]`, Other, false, "containers, the first holding the key"},
	{`{"ts":1,"a":{"ts":2},"b":[{"ts":3}]}`, "ts", `1`, Number, false, "nested keys after do not count"},
	{`{"t\u0073":1,"ts":2}`, "ts", `2`, Number, false, "escaped key, then plain"},
	{`{"ts":1,"t\u0073":2}`, "ts", `2`, Number, false, "plain, then escaped key"},
	{`{"ts":1,"TS":2,"Ts":3}`, "ts", `1`, Number, false, "other cases are other keys"},
	{`{"\u0074\u0073":7}`, "ts", `7`, Number, false, "fully escaped key"},
	{`{"t\\s":1,"ts":2}`, "ts", `2`, Number, false, "an escaped backslash is not an s"},
	{`{"tss":1,"t":2,"ts":3}`, "ts", `3`, Number, false, "prefixes and extensions do not match"},
	{`{"TS":1}`, "ts", ``, Missing, false, "case matters"},
	{`[{"ts":1}]`, "ts", ``, Missing, false, "array at top level"},
	{`"ts"`, "ts", ``, Missing, false, "string at top level"},
	{`1`, "ts", ``, Missing, false, "number at top level"},
	{`null`, "ts", ``, Missing, false, "null at top level"},
	{`{"ts":"2025-11-21T00:00:00Z"}`, "ts", `2025-11-21T00:00:00Z`, String, false, "string"},
	{`{"ts":""}`, "ts", ``, String, false, "empty string"},
	{`{"ts":"a\"b"}`, "ts", `a\"b`, String, true, "escaped string stays raw"},
	{`{"ts":"\u00e9"}`, "ts", `\u00e9`, String, true, "unicode escape stays raw"},
	{"{\"ts\":\"\xff\"}", "ts", "\xff", String, false, "invalid UTF-8 passes through"},
	{`{"ts":-1.5e-3}`, "ts", `-1.5e-3`, Number, false, "number text"},
	{`{"ts":0}`, "ts", `0`, Number, false, "zero"},
	{`{"ts":true}`, "ts", `true`, Other, false, "true"},
	{`{"ts":false}`, "ts", `false`, Other, false, "false"},
	{`{"ts":null}`, "ts", `null`, Other, false, "null"},
	{`{"ts":{"a":[1,2]}}`, "ts", `{"a":[1,2]}`, Other, false, "object, raw"},
	{`{"ts":[1, "x" ,{}]}`, "ts", `[1, "x" ,{}]`, Other, false, "array, raw with its spaces"},
	{` { "ts" : 12 , "b" : 2 } `, "ts", `12`, Number, false, "spaces around"},
	{"{\n  \"ts\": \"x\"\n}\n", "ts", `x`, String, false, "pretty-printed"},
	{`{"a":"x","b":"y","ts":"z"}`, "ts", `z`, String, false, "after strings"},
	{"{\"\xff\":1,\"\xef\xbf\xbd\":2}", "\ufffd", `2`, Number, false, "invalid UTF-8 in a key decodes to U+FFFD"},
	{"{\"\xef\xbf\xbd\":1,\"\xff\":2}", "\ufffd", `2`, Number, false, "so it is the same key as U+FFFD"},
	{"{\"\xff\":1}", "\xff", ``, Missing, false, "so the raw invalid byte does not match"},
	{`{"é":1}`, "é", `1`, Number, false, "non-ASCII key"},
	{`{"\u00e9":1}`, "é", `1`, Number, false, "escaped non-ASCII key"},
	{`{"\ud83d\ude00":1}`, "😀", `1`, Number, false, "surrogate pair in a key"},
	{`{"\ud83d":1}`, "\ufffd", `1`, Number, false, "lone surrogate in a key is U+FFFD"},
	{`{"a_rather_long_key_name":1}`, "a_rather_long_key_name", `1`, Number, false, "long key"},
	{`{"":1}`, "", `1`, Number, false, "empty key"},
}

func TestValues(t *testing.T) {
	for _, c := range values {
		if !json.Valid([]byte(c.in)) {
			t.Errorf("table is wrong: %q is not JSON", c.in)
		}
		val, kind, esc, err := Scan([]byte(c.in), c.key)
		if err != nil {
			t.Errorf("Scan(%q, %q): %v", c.in, c.key, err)
			continue
		}
		if string(val) != c.val || kind != c.kind || esc != c.escaped {
			t.Errorf("Scan(%q, %q) = %q, %v, %v; want %q, %v, %v (%s)", c.in, c.key, val, kind, esc, c.val, c.kind, c.escaped, c.why)
		}
		if kind == Missing && val != nil {
			t.Errorf("Scan(%q, %q): Missing with val %q", c.in, c.key, val)
		}
	}
}

// foldValues: the value ScanFold returns for key in each input.
var foldValues = []struct {
	in, key string
	val     string
	kind    Kind
	escaped bool
	why     string
}{
	{`{"ts":1,"TS":2}`, "ts", `2`, Number, false, "another case: the same key, the last"},
	{`{"TS":1,"ts":2}`, "ts", `2`, Number, false, "the exact case first"},
	{`{"ts":1,"TS":2,"tS":3,"Ts":4,"x":5}`, "ts", `4`, Number, false, "every case"},
	{`{"ts":1,"TS":2}`, "TS", `2`, Number, false, "an upper-case key"},
	{`{"Ts":1}`, "tS", `1`, Number, false, "mixed case on both sides"},
	{`{"ts":1,"T\u0053":2}`, "ts", `2`, Number, false, "escaped, another case"},
	{`{"\u0054\u0053":1,"a":2}`, "ts", `1`, Number, false, "fully escaped, upper case"},
	{`{"ts":1,"a":{"TS":2},"b":[{"Ts":3}]}`, "ts", `1`, Number, false, "nested keys still do not count"},
	{`{"ts":1,"tss":2,"t":3,"TSS":4}`, "ts", `1`, Number, false, "prefixes and extensions do not match"},
	{`{"t_s":1,"T_S":2,"t-s":3}`, "t_s", `2`, Number, false, "non-letters are compared exactly"},
	{`{"t@":1,"t` + "`" + `":2}`, "t@", `1`, Number, false, "@ and backquote differ by the case bit, but are no letters"},
	{`{"[":1,"{":2}`, "[", `1`, Number, false, "nor are [ and {"},
	{`{"é":1,"É":2}`, "é", `1`, Number, false, "non-ASCII letters keep their case"},
	{`{"\u00c9":1,"é":2}`, "É", `1`, Number, false, "escaped, non-ASCII"},
	{`{"ÉTS":1,"éts":2}`, "éts", `2`, Number, false, "non-ASCII and ASCII letters in one key"},
	{"{\"K\":1,\"\u212a\":2}", "k", `1`, Number, false, "the Kelvin sign is not a K"},
	{`{"A_RATHER_LONG_KEY":1,"a_rather_long_key":2,"a_rather_long_kez":3}`, "a_rather_long_key", `2`, Number, false, "long keys"},
	{`{"TS":"x"}`, "ts", `x`, String, false, "a string"},
	{`{"a":1}`, "ts", ``, Missing, false, "missing"},
}

func TestFoldValues(t *testing.T) {
	for _, c := range foldValues {
		if !json.Valid([]byte(c.in)) {
			t.Errorf("table is wrong: %q is not JSON", c.in)
		}
		val, kind, esc, err := ScanFold([]byte(c.in), c.key)
		if err != nil {
			t.Errorf("ScanFold(%q, %q): %v", c.in, c.key, err)
			continue
		}
		if string(val) != c.val || kind != c.kind || esc != c.escaped {
			t.Errorf("ScanFold(%q, %q) = %q, %v, %v; want %q, %v, %v (%s)", c.in, c.key, val, kind, esc, c.val, c.kind, c.escaped, c.why)
		}
		checkAs(t, []byte(c.in), c.key, true)
	}
}

// TestDuplicatePaths: the last match wins on the fast path and the exact
// path alike, wherever the matches fall: in the first 64-byte block or a
// later one, with a key the word compare reads (up to 8 bytes) or a longer
// one, escaped or not, before and after a long value.
func TestDuplicatePaths(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, key := range []string{"ts", "TS", "event_ts", "event_time_ms", "é"} {
		for _, first := range []string{key, upperASCII(key), `\u00` + strconv.FormatInt(int64(key[0]), 16) + key[1:]} {
			for _, gap := range []int{0, 30, 70, 200} {
				pad := `"msg":"` + strings.Repeat("y", gap) + `",`
				for _, in := range []string{
					`{"` + first + `":1,` + pad + `"` + key + `":2}`,
					`{"` + first + `":1,` + pad + `"` + upperASCII(key) + `":"` + long + `","n":3}`,
					`{` + pad + `"` + first + `":{"` + key + `":[1]},"` + key + `":"a\"b",` + pad + `"z":{"` + key + `":4}}`,
					` {"` + first + `":1, "` + key + `":2 }` + "\n", // the exact path
				} {
					check(t, []byte(in), key)
					check(t, []byte(in), upperASCII(key))
				}
			}
		}
	}
}

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// nest returns depth open brackets of open and as many of close around
// inner.
func nest(open, inner, close string, depth int) []byte {
	return []byte(strings.Repeat(open, depth) + inner + strings.Repeat(close, depth))
}

func TestDepth(t *testing.T) {
	cases := []struct {
		in    []byte
		valid bool
	}{
		{nest("[", "", "]", maxDepth), true},
		{nest("[", "", "]", maxDepth+1), false},
		{nest("[", "1", "]", maxDepth), true},
		{nest(`{"a":`, "1", "}", maxDepth), true},
		{nest(`{"a":`, "1", "}", maxDepth+1), false},
		{nest(`{"a":[`, "1", "]}", maxDepth/2), true},
		{nest(`{"a":[`, "1", "]}", maxDepth/2+1), false},
		{nest(`{"a":`, "[]", "}", maxDepth-1), true},
		{nest(`{"a":`, "[[]]", "}", maxDepth-1), false},
		{nest("[", "", "", maxDepth+1), false},       // unclosed and too deep
		{nest("[", "", "]", 62), true},               // around the fast path's limit
		{nest("[", "", "]", 63), true},               //
		{nest("[", "", "]", 64), true},               // around one 64-level stack
		{nest("[", "", "]", 65), true},               //
		{nest(`{"a":`, "0", "}", 129), true},         //
		{append(nest("[", "", "]", 70), ']'), false}, // one close too many
		{nest("[", "", "]", 100)[:199], false},       // one close too few
		{nest(`{"a":`, "0", "}", 70)[1:], false},     // missing the first brace
	}
	for _, c := range cases {
		if json.Valid(c.in) != c.valid {
			t.Fatalf("table is wrong for %.40q...", c.in)
		}
		val, kind, _, err := Scan(c.in, "a")
		if (err == nil) != c.valid {
			t.Errorf("Scan(%.40q... len %d): err = %v, want valid %v", c.in, len(c.in), err, c.valid)
		}
		if c.valid && c.in[0] == '{' && (kind != Other || !bytes.Equal(val, c.in[5:len(c.in)-1])) {
			t.Errorf("Scan(%.40q...): %v %.40q...", c.in, kind, val)
		}
	}
	// Around the fast path's depth limit, and its 64-bit stack, with the
	// closing brackets right and wrong.
	for k := 55; k <= 70; k++ {
		for _, inner := range []string{"[]", "{}", `[{"b":0}]`, "0"} {
			doc := `{"a":` + strings.Repeat(`[{"c":`, k/2) + strings.Repeat("[", k%2) + inner + strings.Repeat("]", k%2) + strings.Repeat("}]", k/2) + "}"
			check(t, []byte(doc), "a")
			check(t, []byte(doc[:len(doc)-1]), "a")     // one close short
			check(t, []byte(doc+"}"), "a")              // one close over
			check(t, []byte(doc[:len(doc)-2]+"}"), "a") // the last but one missing
			for j := 5; j < len(doc); j++ {
				switch doc[j] {
				case ']', '}':
					bad := []byte(doc)
					bad[j] ^= ']' ^ '}'
					check(t, bad, "a")
				}
			}
		}
	}
	for k := 55; k <= 70; k++ {
		objs := `{"a":` + strings.Repeat(`{"b":`, k) + "1" + strings.Repeat("}", k)
		check(t, []byte(objs), "a")     // one '}' short
		check(t, []byte(objs+"}"), "a") // right
	}
	// The error is at the bracket one too deep, as in encoding/json.
	_, _, _, err := Scan(nest("[", "", "]", maxDepth+1), "a")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != maxDepth || !strings.Contains(se.Msg, "depth") {
		t.Errorf("too deep: %v", err)
	}
}

// genRecords returns n loggen records, valid and not.
func genRecords(n int, seed uint64) [][]byte {
	g := loggen.New(seed)
	g.BadFraction = 0.05
	et := time.Date(2025, 11, 21, 0, 0, 0, 0, time.UTC)
	recs := make([][]byte, n)
	for i := range recs {
		recs[i], _ = g.Next(nil, et.Add(time.Duration(i)*time.Second))
	}
	return recs
}

// check compares Scan(b, key) and ScanFold(b, key) with encoding/json and
// reports a difference.
func check(t *testing.T, b []byte, key string) {
	t.Helper()
	checkAs(t, b, key, false)
	checkAs(t, b, key, true)
}

func checkAs(t *testing.T, b []byte, key string, fold bool) {
	t.Helper()
	scan, name := Scan, "Scan"
	if fold {
		scan, name = ScanFold, "ScanFold"
	}
	val, kind, esc, err := scan(b, key)
	valid := json.Valid(b)
	if (err == nil) != valid {
		t.Fatalf("%s(%q): err %v, json.Valid %v", name, b, err, valid)
	}
	if err != nil {
		checkError(t, b, err)
		if val != nil || kind != Missing || esc {
			t.Fatalf("%s(%q): error %v with %q %v %v", name, b, err, val, kind, esc)
		}
		return
	}
	raw, found, isObject := reference(t, b, key, fold)
	if !found {
		if kind != Missing || val != nil {
			t.Fatalf("%s(%q, %q) = %q %v, want Missing (object %v)", name, b, key, val, kind, isObject)
		}
		return
	}
	switch raw[0] {
	case '"':
		if kind != String || string(val) != string(raw[1:len(raw)-1]) || esc != bytes.ContainsRune(val, '\\') {
			t.Fatalf("%s(%q, %q) = %q %v %v, want string %s", name, b, key, val, kind, esc, raw)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		u, err := Unquote(val)
		if err != nil || string(u) != s {
			t.Fatalf("Unquote(%q) = %q, %v; want %q", val, u, err, s)
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if kind != Number || string(val) != string(raw) || esc {
			t.Fatalf("%s(%q, %q) = %q %v %v, want number %s", name, b, key, val, kind, esc, raw)
		}
	default:
		if kind != Other || string(val) != string(raw) || esc {
			t.Fatalf("%s(%q, %q) = %q %v %v, want %s", name, b, key, val, kind, esc, raw)
		}
	}
	// The very bytes: with the key twice and the same value, a value
	// equal in text is not enough.
	if kind == String {
		raw = raw[1 : len(raw)-1]
	}
	if !sameBytes(val, raw) {
		t.Fatalf("%s(%q, %q) = %q at %d, want %q at %d", name, b, key, val, offsetIn(b, val), raw, offsetIn(b, raw))
	}
}

// sameBytes reports whether a and b are the same part of one array.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// offsetIn is where part, which aliases b, starts in b.
func offsetIn(b, part []byte) int {
	if len(part) == 0 {
		return -1
	}
	return int(uintptr(unsafe.Pointer(&part[0])) - uintptr(unsafe.Pointer(&b[0])))
}

// reference finds, with encoding/json's Decoder, the raw value of the last
// top-level member of b with key (as json.Unmarshal into a map keeps),
// with fold matching keys that differ only in the case of ASCII letters.
// The raw value aliases b.
func reference(t *testing.T, b []byte, key string, fold bool) (raw []byte, found, isObject bool) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // 1e700 is JSON
	tok, err := dec.Token()
	if err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
	if tok != json.Delim('{') {
		return nil, false, false
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatalf("decoding %q: %v", b, err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("decoding %q: %v", b, err)
		}
		if k.(string) == key || fold && foldASCII(k.(string)) == foldASCII(key) {
			// The decoder copies; the value's place in b is just
			// before what the decoder has not read yet.
			end := int(dec.InputOffset())
			raw, found = b[end-len(v):end], true
		}
	}
	return raw, found, true
}

// foldASCII lower-cases s's ASCII letters only, as the ORC converter does,
// and leaves every other byte as it is.
func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// checkError checks that err is at the offset where encoding/json finds
// the error: encoding/json's Offset counts the bytes read, so it is one
// more for an offending byte, and the input's length at its end.
func checkError(t *testing.T, b []byte, err error) {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Scan(%q): %T %v, want *SyntaxError", b, err, err)
	}
	var v any
	var je *json.SyntaxError
	if !errors.As(json.Unmarshal(b, &v), &je) {
		t.Fatalf("json.Unmarshal(%q) gives no SyntaxError", b)
	}
	want := int(je.Offset) - 1
	if se.Offset == len(b) {
		want = int(je.Offset)
	}
	if se.Offset != want {
		t.Fatalf("Scan(%q): %v; encoding/json: %v at %d", b, err, je, je.Offset)
	}
	if msg := err.Error(); len(msg) > 120 || !strings.HasSuffix(msg, " at offset "+strconv.Itoa(se.Offset)) {
		t.Fatalf("Scan(%q): error message %q", b, msg)
	}
}

func TestRecords(t *testing.T) {
	for _, rec := range genRecords(2000, 7) {
		check(t, rec, "ts")
		check(t, rec, "tags")
		check(t, rec, "build") // nested only
	}
}

// richRecords have what loggen's records lack: arrays, literals, negative
// and fractional numbers, escapes, non-ASCII text, spaces.
var richRecords = [][]byte{
	[]byte(`{"ts":1763683200123,"level":"INFO","host":"web-12","service":"checkout","trace_id":"5f2c9a","msg":"GET /api/v1/cart 200 12ms","user_id":"u-48213","latency_ms":12.5,"tags":["a","b"],"geo":{"country":"DE"}}`),
	[]byte(`{"a":[1,-2.5e-3,true,false,null,[],{},[[0]],{"b":[{"c":"d"}]}],"ts":"2025-11-21T00:00:00.123Z","ok":true,"n":null}`),
	[]byte(`{"msg":"say \"hi\"\n\tté\u00e9\ud83d\ude00 \\ \/","ts":-0.0E+0,"x":"é😀"}`),
	[]byte(`{ "ts" : 12 , "list" : [ 1 , "x" , { "k" : [ ] } ] , "z" : { } }`),
}

// TestMutations changes valid records a byte at a time, in every place,
// and compares with encoding/json. It fails if Scan skips any part of
// the validation.
func TestMutations(t *testing.T) {
	repl := []byte{0x00, '\t', '\n', 0x1f, ' ', '"', '\\', ',', ':', '{', '}', '[', ']', '-', '+', '.', '0', '1', 'e', 'E', 'a', 'n', 't', 'u', '/', 0x7f, 0x80, 0xc3, 0xff}
	n := 0
	for _, rec := range append(genRecords(40, 11), richRecords...) {
		if !json.Valid(rec) {
			continue
		}
		n++
		m := make([]byte, 0, len(rec)+1)
		for i := range rec {
			for _, c := range repl {
				m = append(m[:0], rec...)
				m[i] = c
				check(t, m, "ts")
			}
			// Insert a byte.
			for _, c := range repl {
				check(t, append(append(append(m[:0], rec[:i]...), c), rec[i:]...), "ts")
			}
			// Delete and double the byte.
			check(t, append(append(m[:0], rec[:i]...), rec[i+1:]...), "ts")
			check(t, append(append(m[:0], rec[:i+1]...), rec[i:]...), "ts")
			// Cut short.
			check(t, rec[:i], "ts")
		}
	}
	if n < 30+len(richRecords) {
		t.Fatalf("only %d valid records", n)
	}
}

var tsKey = NewKey("ts", false)

func TestFastPathTaken(t *testing.T) {
	recs := genRecords(500, 3)
	taken := 0
	for _, rec := range recs {
		if _, _, _, ok := fast(rec, &tsKey); ok {
			taken++
		} else if json.Valid(rec) {
			t.Errorf("fast path not taken for %q", rec)
		}
	}
	if taken < 400 {
		t.Errorf("fast path taken for %d of %d records", taken, len(recs))
	}
	// So do escapes and spaces.
	for _, rec := range richRecords {
		if _, _, _, ok := fast(rec, &tsKey); !ok {
			t.Errorf("fast path not taken for %q", rec)
		}
	}
	// Long records use a pooled buffer.
	long := []byte(`{"ts":1,"msg":"` + strings.Repeat("x", 5000) + `","a":[` + strings.Repeat(`"y",`, 300) + `"z"]}`)
	if v, k, _, ok := fast(long, &tsKey); !ok || string(v) != "1" || k != Number {
		t.Errorf("long record: %q %v %v", v, k, ok)
	}
	check(t, long, "a")
}

// TestBlockStart: records whose first key starts after the first 64-byte
// block, or in any place around the second's start.
func TestBlockStart(t *testing.T) {
	for _, key := range []string{"é", "a", "b", `\`} {
		for k := 50; k < 140; k++ {
			check(t, []byte("{"+strings.Repeat(" ", k)+`"é":1, "a":"x\"y", "b":"\\"}`), key)
			check(t, []byte(`{"a":"`+strings.Repeat("x", k)+`","\u00e9":[1,"\\"],"b":"`+strings.Repeat("y", k)+`"}`), key)
		}
	}
}

func TestAllocs(t *testing.T) {
	recs := genRecords(100, 5)
	var valid [][]byte
	for _, r := range recs {
		if json.Valid(r) {
			valid = append(valid, r)
		}
	}
	valid = append(valid, []byte(` {"a" : "x\"y", "ts": [1, 2.5e3, true]} `)) // exact path
	allocs := testing.AllocsPerRun(100, func() {
		for _, r := range valid {
			if _, _, _, err := Scan(r, "ts"); err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := ScanFold(r, "ts"); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("Scan allocates: %v per run", allocs)
	}
}

func TestErrorMessages(t *testing.T) {
	cases := []struct{ in, msg string }{
		{``, "unexpected end of JSON input at offset 0"},
		{`{"a":1,}`, "invalid character '}' looking for beginning of object key string at offset 7"},
		{"\"ab\ncd\"", `invalid character '\n' in string literal at offset 3`},
		{`{"a":tru}`, "invalid character '}' in literal true (expecting 'e') at offset 8"},
		{`[1.]`, "invalid character ']' after decimal point in numeric literal at offset 3"},
		{`"\q"`, "invalid character 'q' in string escape code at offset 2"},
		{"{} \xff", `invalid character '\xff' after top-level value at offset 3`},
		{`[1 2]`, "invalid character '2' after array element at offset 3"},
	}
	for _, c := range cases {
		_, _, _, err := Scan([]byte(c.in), "a")
		if err == nil || err.Error() != c.msg {
			t.Errorf("Scan(%q) = %v, want %s", c.in, err, c.msg)
		}
	}
	// The message never holds the input.
	big := []byte(`{"secret":"` + strings.Repeat("s", 1000) + "\x01\"}")
	if _, _, _, err := Scan(big, "a"); err == nil || strings.Contains(err.Error(), "sss") {
		t.Errorf("error %v", err)
	}
}

func TestUnquote(t *testing.T) {
	cases := []struct{ raw, want string }{
		{``, ``},
		{`abc`, `abc`},
		{`a\"b\\c\/d`, `a"b\c/d`},
		{`\b\f\n\r\t`, "\b\f\n\r\t"},
		{`\u0041\u00e9\u20ac`, "Aé€"},
		{`\ud83d\ude00`, "😀"},
		{`\ud83d`, "\ufffd"},
		{`\ude00\ud83d`, "\ufffd\ufffd"},
		{`\ud83dx`, "\ufffdx"},
		{`\ud83d\u0041`, "\ufffdA"},
		{"\xff", "\ufffd"},
		{"a\xc3", "a\ufffd"},
		{"é", "é"},
	}
	for _, c := range cases {
		got, err := Unquote([]byte(c.raw))
		if err != nil || string(got) != c.want {
			t.Errorf("Unquote(%q) = %q, %v; want %q", c.raw, got, err, c.want)
		}
		var s string
		if err := json.Unmarshal([]byte(`"`+c.raw+`"`), &s); err != nil || s != c.want {
			t.Errorf("table is wrong for %q: encoding/json gives %q", c.raw, s)
		}
	}
	for _, raw := range []string{`\`, `\q`, `\u12`, `\u12x4`, `a"b`, "a\nb"} {
		if got, err := Unquote([]byte(raw)); err == nil {
			t.Errorf("Unquote(%q) = %q, want an error", raw, got)
		}
	}
}
