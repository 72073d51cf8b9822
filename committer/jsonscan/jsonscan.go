// Package jsonscan validates a JSON document in one pass and, on the way,
// picks out the raw value of one top-level object member.
//
// It accepts exactly what encoding/json.Valid accepts (RFC 8259 with
// encoding/json's nesting limit of 10000, and no UTF-8 validation inside
// strings), without allocating, a few times faster than parsing the
// record into a tree. Records that are an object with plain strings take
// a fast path (fast.go); anything else, and every error, the exact path
// here.
package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Kind is the kind of value Scan returns.
type Kind uint8

const (
	// Missing: the document is not an object, or it has no member with
	// the key.
	Missing Kind = iota
	// String: val is the raw content between the quotes.
	String
	// Number: val is the number's text.
	Number
	// Other: an object, array, true, false or null; val is its raw text.
	Other
)

func (k Kind) String() string {
	switch k {
	case Missing:
		return "Missing"
	case String:
		return "String"
	case Number:
		return "Number"
	case Other:
		return "Other"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// maxDepth is encoding/json's limit on nested objects and arrays: 10000
// levels are valid, 10001 are not.
const maxDepth = 10000

// A SyntaxError says where and why the input is not valid JSON.
type SyntaxError struct {
	// Offset is the index of the offending byte in the input, or the
	// input's length when it ended too early. (encoding/json's Offset is
	// one more for an offending byte: it counts the bytes read.)
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

// Scan checks that b is exactly one JSON value (RFC 8259; optional
// surrounding whitespace) and, when it is an object, returns the value of
// its last top-level member whose key equals key. Keys are compared after
// unescaping (and with invalid UTF-8 replaced by U+FFFD, as encoding/json
// decodes them), so "t\u0073" matches "ts". Members of nested objects
// never count.
//
// The last, because JSON allows a key twice and the common readers
// (encoding/json, Jackson's tree model, the ORC converter) keep the last:
// a record partitioned by its event time must sit in the partition its own
// field, as read from the table, names.
//
// For String, val is the raw content between the quotes, escapes not
// decoded, and escaped reports whether it has a backslash (see Unquote).
// For Number, val is the number's text; for Other, the raw text of the
// value. val aliases b. When there is no such member, or b is not an
// object, kind is Missing and val nil.
//
// err is a *SyntaxError exactly when encoding/json.Valid(b) is false; val
// is then nil and kind Missing.
func Scan(b []byte, key string) (val []byte, kind Kind, escaped bool, err error) {
	return scanKey(b, key, false)
}

// ScanFold is Scan with keys compared ASCII case-insensitively, after
// unescaping: "TS", "tS" and "T\u0053" all match "ts", but "é" and "É" are
// different keys. That is how the ORC converter (writer/orc, appendFields)
// maps a JSON key to a column: it lower-cases the key's ASCII letters and
// looks for the column named so, and Hive stores column names lower case.
// So for an ORC table, ScanFold(b, strings.ToLower(column)) returns the
// value that ends up in the column.
//
// The converter unescapes keys with fastjson, which keeps invalid UTF-8
// and decodes a lone surrogate escape (\ud800) its own way, where Scan
// makes both U+FFFD as encoding/json does. Neither can then match a key
// that is valid UTF-8 without U+FFFD or a backslash, as every Hive column
// name is, so for those keys the two agree on every record.
func ScanFold(b []byte, key string) (val []byte, kind Kind, escaped bool, err error) {
	return scanKey(b, key, true)
}

func scanKey(b []byte, key string, fold bool) (val []byte, kind Kind, escaped bool, err error) {
	k := NewKey(key, fold)
	return k.Scan(b)
}

// A Key is a member key prepared once for the scans of many records: Scan
// and ScanFold prepare theirs on every call, which on a log record is a
// few percent of the scan.
type Key struct {
	key    string
	kw, km uint64 // key as a word (lower case with fold), and its mask, when len(key) <= 8
	kf     uint64 // with fold, 0x20 in kw's letters: or-ed in, it lower-cases them
	fold   bool
	exact  bool // only the exact path compares this key right (see NewKey)
}

// NewKey prepares key for Key.Scan: without fold it scans as Scan(b, key),
// with fold as ScanFold(b, key).
func NewKey(key string, fold bool) Key {
	k := Key{key: key, fold: fold}
	ascii := true
	if len(key) <= 8 {
		for i := len(key) - 1; i >= 0; i-- {
			c, f := key[i], uint64(0)
			if fold && (c|0x20)-'a' < 26 {
				c, f = c|0x20, 0x20
			}
			k.kw, k.km, k.kf = k.kw<<8|uint64(c), k.km<<8|0xff, k.kf<<8|f
			ascii = ascii && c < 0x80
		}
	} else {
		ascii = isASCII(key)
	}
	// The fast path compares a key without escapes as it is, which is
	// right when decoding it changes nothing: unless it has invalid
	// UTF-8, which decodes to U+FFFD. So that stays right for a valid
	// key without U+FFFD (and a raw key of another length never
	// matches); any other key is left to the exact path.
	k.exact = !ascii && (!utf8.ValidString(key) || strings.Contains(key, "\uFFFD"))
	return k
}

// Scan is Scan(b, key), or ScanFold(b, key) for a Key made with fold.
func (k *Key) Scan(b []byte) (val []byte, kind Kind, escaped bool, err error) {
	if val, kind, escaped, ok := fast(b, k); ok {
		return val, kind, escaped, nil
	}
	val, kind, escaped, err = scan(b, k.key, k.fold)
	if err != nil {
		return nil, Missing, false, err
	}
	return val, kind, escaped, nil
}

func scan(b []byte, key string, fold bool) (val []byte, kind Kind, escaped bool, err error) {
	n := len(b)
	i := 0
	if i < n && b[i] <= ' ' {
		i = skipWS(b, i)
	}
	if i >= n {
		return nil, Missing, false, errEOF(b)
	}
	if b[i] != '{' {
		if i, err = value(b, i, 0); err != nil {
			return
		}
		return nil, Missing, false, end(b, i)
	}
	i++
	if i < n && b[i] <= ' ' {
		i = skipWS(b, i)
	}
	if i >= n {
		return nil, Missing, false, errEOF(b)
	}
	if b[i] == '}' {
		return nil, Missing, false, end(b, i+1)
	}
	keyASCII := isASCII(key)
	for {
		// b[i] starts a member.
		if b[i] != '"' {
			return nil, Missing, false, errChar(b, i, "looking for beginning of object key string")
		}
		ks := i + 1
		ke, esc := quickStr(b, ks), false
		if ke < 0 {
			var e error
			if ke, esc, e = str(b, ks); e != nil {
				return nil, Missing, false, e
			}
		}
		var match bool
		if !esc && keyASCII {
			match = equalKey(b[ks:ke], key, fold)
		} else {
			match = unquotedEqual(b[ks:ke], key, fold)
		}
		i = ke + 1
		if i < n && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i >= n {
			return nil, Missing, false, errEOF(b)
		}
		if b[i] != ':' {
			return nil, Missing, false, errChar(b, i, "after object key")
		}
		i++
		if i < n && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i >= n {
			return nil, Missing, false, errEOF(b)
		}
		vs := i
		switch c := b[i]; {
		case c == '"':
			ve, vesc := quickStr(b, i+1), false
			if ve < 0 {
				var e error
				if ve, vesc, e = str(b, i+1); e != nil {
					return nil, Missing, false, e
				}
			}
			i = ve + 1
			if match {
				val, kind, escaped = b[vs+1:ve], String, vesc
			}
		case c == '-' || c-'0' < 10:
			if i, err = number(b, i); err != nil {
				return
			}
			if match {
				val, kind, escaped = b[vs:i], Number, false
			}
		case c == '{' || c == '[':
			if i, err = container(b, i, 1); err != nil {
				return
			}
			if match {
				val, kind, escaped = b[vs:i], Other, false
			}
		default:
			if i, err = literal(b, i); err != nil {
				return
			}
			if match {
				val, kind, escaped = b[vs:i], Other, false
			}
		}
		if i < n && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i >= n {
			return nil, Missing, false, errEOF(b)
		}
		if b[i] == ',' {
			i++
			if i < n && b[i] <= ' ' {
				i = skipWS(b, i)
			}
			if i >= n {
				return nil, Missing, false, errEOF(b)
			}
			continue
		}
		if b[i] == '}' {
			return val, kind, escaped, end(b, i+1)
		}
		return nil, Missing, false, errChar(b, i, "after object key:value pair")
	}
}

// end checks that only whitespace follows the top-level value, which ends
// before b[i].
func end(b []byte, i int) error {
	if i < len(b) {
		i = skipWS(b, i)
		if i < len(b) {
			return errChar(b, i, "after top-level value")
		}
	}
	return nil
}

// equalKey reports whether raw, a key with no escapes, equals key, or with
// fold equals it but for the case of ASCII letters.
func equalKey(raw []byte, key string, fold bool) bool {
	if !fold {
		return string(raw) == key
	}
	if len(raw) != len(key) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if lowerASCII(raw[i]) != lowerASCII(key[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if c-'A' < 26 {
		return c + 'a' - 'A'
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// skipWS returns the index of the first byte at or after i that is not
// JSON whitespace (space, tab, newline, carriage return).
func skipWS(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return i
		}
	}
	return i
}

// value checks the value starting at b[i] (not whitespace, i < len(b))
// and returns the index just past it. depth is the number of enclosing
// objects and arrays.
func value(b []byte, i, depth int) (int, error) {
	switch c := b[i]; {
	case c == '"':
		j, _, err := str(b, i+1)
		return j + 1, err
	case c == '-' || c-'0' < 10:
		return number(b, i)
	case c == '{' || c == '[':
		return container(b, i, depth)
	}
	return literal(b, i)
}

// load64 returns the 8 bytes b[i:i+8] as a little-endian word; the caller
// has checked that i+8 <= len(b).
func load64(b []byte, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))[:])
}

// load32 returns the 4 bytes b[i:i+4] as a little-endian word; the caller
// has checked that i+4 <= len(b).
func load32(b []byte, i int) uint32 {
	return binary.LittleEndian.Uint32((*[4]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))[:])
}

// at returns b[i]; the caller has checked that i < len(b).
func at(b []byte, i int) byte {
	return *(*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}

const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// special marks, with the high bit of its byte, the first byte of the
// little-endian word w that ends a run of plain string content: '"', '\\'
// or a control character (< 0x20). Bytes after the first marked one may be
// marked falsely.
//
// x^0x02 maps '"' (0x22) to 0x20 and the control characters onto
// themselves, and every other byte to 0x21 or more, so one "less than
// 0x21" test finds both.
func special(w uint64) uint64 {
	q := w ^ (lo * 0x02)
	s := w ^ (lo * '\\')
	return ((q-lo*0x21)&^q | (s-lo)&^s) & hi
}

// quickStr returns the index of the closing quote of the string whose
// content starts at b[i] when it comes within the next 16 bytes with no
// backslash or control character before it, and -1 otherwise (then call
// str). Most keys and values in log records are that short; this is
// inlined, and has no branch on the string's length.
func quickStr(b []byte, i int) int {
	if i+16 <= len(b) {
		m1 := special(load64(b, i))
		m2 := special(load64(b, i+8))
		t := bits.TrailingZeros64(m1)
		if m1 == 0 {
			t = 64 + bits.TrailingZeros64(m2)
		}
		j := i + t>>3
		if t < 128 && at(b, j) == '"' {
			return j
		}
	}
	return -1
}

// str checks the string content starting at b[i], just after the
// opening quote, and returns the index of the closing quote and whether
// there was an escape.
func str(b []byte, i int) (int, bool, error) {
	esc := false
	for {
		for i+8 <= len(b) {
			if m := special(load64(b, i)); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto found
			}
			i += 8
		}
		for ; i < len(b); i++ {
			if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
				goto found
			}
		}
		return i, esc, errEOF(b)
	found:
		switch b[i] {
		case '"':
			return i, esc, nil
		case '\\':
			esc = true
			j, err := escape(b, i)
			if err != nil {
				return j, esc, err
			}
			i = j
		default:
			return i, esc, errChar(b, i, "in string literal")
		}
	}
}

// escape checks the escape sequence at b[i] == '\\' and returns the
// index after it.
func escape(b []byte, i int) (int, error) {
	i++
	if i >= len(b) {
		return i, errEOF(b)
	}
	switch b[i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 1, nil
	case 'u':
		for k := 1; k <= 4; k++ {
			if i+k >= len(b) {
				return i + k, errEOF(b)
			}
			if unhex(b[i+k]) < 0 {
				return i + k, errChar(b, i+k, "in \\u hexadecimal character escape")
			}
		}
		return i + 5, nil
	}
	return i, errChar(b, i, "in string escape code")
}

func unhex(c byte) int {
	switch {
	case c-'0' < 10:
		return int(c - '0')
	case (c|0x20)-'a' < 6:
		return int((c|0x20)-'a') + 10
	}
	return -1
}

// number checks the number starting at b[i] ('-' or a digit) and returns
// the index just past it.
func number(b []byte, i int) (int, error) {
	n := len(b)
	if b[i] == '-' {
		i++
		if i >= n {
			return i, errEOF(b)
		}
	}
	switch c := b[i]; {
	case c == '0':
		i++
	case c-'1' < 9:
		i++
		for i < n && b[i]-'0' < 10 {
			i++
		}
	default:
		return i, errChar(b, i, "in numeric literal")
	}
	if i < n && b[i] == '.' {
		i++
		if i >= n {
			return i, errEOF(b)
		}
		if b[i]-'0' >= 10 {
			return i, errChar(b, i, "after decimal point in numeric literal")
		}
		i++
		for i < n && b[i]-'0' < 10 {
			i++
		}
	}
	if i < n && b[i]|0x20 == 'e' {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= n {
			return i, errEOF(b)
		}
		if b[i]-'0' >= 10 {
			return i, errChar(b, i, "in exponent of numeric literal")
		}
		i++
		for i < n && b[i]-'0' < 10 {
			i++
		}
	}
	return i, nil
}

// literal checks true, false or null at b[i] and returns the index just
// past it.
func literal(b []byte, i int) (int, error) {
	if len(b)-i >= 4 {
		switch binary.LittleEndian.Uint32(b[i:]) {
		case 't' | 'r'<<8 | 'u'<<16 | 'e'<<24, 'n' | 'u'<<8 | 'l'<<16 | 'l'<<24:
			return i + 4, nil
		case 'f' | 'a'<<8 | 'l'<<16 | 's'<<24:
			if len(b)-i >= 5 && b[i+4] == 'e' {
				return i + 5, nil
			}
		}
	}
	return badLiteral(b, i)
}

// badLiteral finds the error in what should be a literal at b[i].
func badLiteral(b []byte, i int) (int, error) {
	var lit string
	switch b[i] {
	case 't':
		lit = "true"
	case 'f':
		lit = "false"
	case 'n':
		lit = "null"
	default:
		return i, errChar(b, i, "looking for beginning of value")
	}
	for k := 1; k < len(lit); k++ {
		if i+k >= len(b) {
			return i + k, errEOF(b)
		}
		if b[i+k] != lit[k] {
			return i + k, errChar(b, i+k, "in literal "+lit+" (expecting "+quoteChar(lit[k])+")")
		}
	}
	return i + len(lit), nil // not reached: literal accepted it
}

// container checks the object or array starting at b[i] and returns the
// index just past it. depth is the number of enclosing objects and arrays.
//
// The open containers are kept in a 64-bit stack (bit set: object), the
// innermost in bit 0. A container 64 levels below the one this call
// started with is checked by a nested call, so deep input costs one call
// per 64 levels rather than one per level.
func container(b []byte, i, depth int) (int, error) {
	n := len(b)
	var objs uint64
	d := 0 // containers open in this call
	var err error
open: // b[i] is '{' or '['
	if d == 64 {
		if i, err = container(b, i, depth+d); err != nil {
			return i, err
		}
		goto next
	}
	if depth+d >= maxDepth {
		return i, &SyntaxError{Offset: i, Msg: "exceeded max depth"}
	}
	d++
	objs <<= 1
	if b[i] == '{' {
		objs |= 1
		i++
		if i < n && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i >= n {
			return i, errEOF(b)
		}
		if b[i] == '}' {
			i++
			goto closed
		}
		goto key
	}
	i++
	if i < n && b[i] <= ' ' {
		i = skipWS(b, i)
	}
	if i >= n {
		return i, errEOF(b)
	}
	if b[i] == ']' {
		i++
		goto closed
	}
	goto value

key: // b[i] should start a member of the object in bit 0
	if b[i] != '"' {
		return i, errChar(b, i, "looking for beginning of object key string")
	}
	if j := quickStr(b, i+1); j >= 0 {
		i = j
	} else if i, _, err = str(b, i+1); err != nil {
		return i, err
	}
	i++
	if i < n && b[i] <= ' ' {
		i = skipWS(b, i)
	}
	if i >= n {
		return i, errEOF(b)
	}
	if b[i] != ':' {
		return i, errChar(b, i, "after object key")
	}
	i++
	if i < n && b[i] <= ' ' {
		i = skipWS(b, i)
	}
	if i >= n {
		return i, errEOF(b)
	}

value: // b[i] should start a value
	switch c := b[i]; {
	case c == '"':
		if j := quickStr(b, i+1); j >= 0 {
			i = j
		} else if i, _, err = str(b, i+1); err != nil {
			return i, err
		}
		i++
	case c == '-' || c-'0' < 10:
		if i, err = number(b, i); err != nil {
			return i, err
		}
	case c == '{' || c == '[':
		goto open
	default:
		if i, err = literal(b, i); err != nil {
			return i, err
		}
	}

next: // a value ended before b[i]
	if d == 0 {
		return i, nil
	}
	if i < n && b[i] <= ' ' {
		i = skipWS(b, i)
	}
	if i >= n {
		return i, errEOF(b)
	}
	if b[i] == ',' {
		i++
		if i < n && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i >= n {
			return i, errEOF(b)
		}
		if objs&1 != 0 {
			goto key
		}
		goto value
	}
	if objs&1 != 0 {
		if b[i] != '}' {
			return i, errChar(b, i, "after object key:value pair")
		}
	} else if b[i] != ']' {
		return i, errChar(b, i, "after array element")
	}
	i++
closed:
	d--
	objs >>= 1
	goto next
}

func errEOF(b []byte) error {
	return &SyntaxError{Offset: len(b), Msg: "unexpected end of JSON input"}
}

func errChar(b []byte, i int, context string) error {
	return &SyntaxError{Offset: i, Msg: "invalid character " + quoteChar(b[i]) + " " + context}
}

// quoteChar formats c for an error message: 'x', '\n', '\x00', '\xff'.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	if c >= 0x80 {
		const hex = "0123456789abcdef"
		return `'\x` + string([]byte{hex[c>>4], hex[c&15]}) + `'`
	}
	s := strconv.QuoteRuneToASCII(rune(c))
	return s
}
