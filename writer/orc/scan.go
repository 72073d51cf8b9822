package orc

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"
	"github.com/valyala/fastjson/fastfloat"

	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/orc/spec"
)

// Scanner converts JSON records for the columns of one schema in a single
// pass over the bytes (RFC 8259), validating the JSON on the way. The
// values land in a Row, a scratch set of columns for one record, which any
// file of the same Format then takes with a copy; so a caller that must
// read a field before it knows the file (the committer routes by the event
// time) still scans each record once.
//
// The one pass covers what valid records look like. Anything else — not
// JSON, a value that does not fit its column, a key given twice, a nested
// value where a string column wants its JSON text, deep nesting — makes
// Scan report !ok, and the caller takes the reference path (Convert, the
// fastjson parser and converter), which gives the reason. So both paths
// agree on every record by construction where the one pass gives up, and
// by the differential tests where it does not.
//
// A Scanner is used by one goroutine.
type Scanner struct {
	schema *Type
	root   *column
	cols   []*column
	cv     converter
	parser fastjson.Parser
	field  string // lower case; "" when no field is wanted

	b    []byte // the record being scanned
	rec  []byte // the record of the row, which its spans point into
	fv   []byte // raw text of the field's value, last one wins
	ubuf []byte // unescaped string value
	kbuf []byte // unescaped key
	lbuf []byte // lower-cased key
	// arena holds the string values of the row that are not a piece of
	// the record as they are (unescaped, padded, decoded); it only grows
	// during a record, so earlier values stay where they are.
	arena []byte
	row   Row

	// The columns whose ints, nanos, floats, decs or strings their kind
	// fills (see scratchUse): clear empties only those, which took a
	// fifth of its time per column and row when it emptied every buffer.
	intCols, nanoCols, floatCols, decCols, strCols []*column
}

// Buffers of a scratch column that values of its kind fill.
const (
	useInts = 1 << iota
	useNanos
	useFloats
	useDecs
	useStr
	useAll = useInts | useNanos | useFloats | useDecs | useStr
)

// scratchUse says which buffers the scanner and the converter fill for a
// column of kind k; present and nulls are filled for every kind.
func scratchUse(k spec.TypeKind) int {
	switch k {
	case spec.TypeBoolean, spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong,
		spec.TypeDate, spec.TypeList, spec.TypeMap:
		return useInts // values, or list and map lengths
	case spec.TypeTimestamp, spec.TypeTimestampInstant:
		return useInts | useNanos
	case spec.TypeFloat, spec.TypeDouble:
		return useFloats
	case spec.TypeDecimal:
		return useDecs
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar, spec.TypeBinary:
		return useStr
	case spec.TypeStruct:
		return 0
	}
	return useAll
}

// maxScanDepth is where the one pass gives up on nesting and leaves the
// record to the reference path, whose parser has a limit of its own (300
// levels): beyond that, what it says is the reason.
const maxScanDepth = 100

// NewScanner returns a scanner of records for f's files. field names the
// top-level member whose raw value Scan returns, matched ASCII
// case-insensitively as columns are (see committer's event time); ""
// for none.
func (f *Format) NewScanner(field string) *Scanner {
	return newScanner(f.schema, &f.o, field)
}

func newScanner(t *Type, o *options, field string) *Scanner {
	// The scratch columns keep strings plain (no dictionary): a row is
	// copied into a file's columns, which do their own deduplication.
	s := &Scanner{schema: t, field: lowerString(field)}
	s.root = newColumns(t, "", 0, maphash.MakeSeed())
	s.cols = s.root.flat(nil)
	for _, c := range s.cols {
		u := scratchUse(c.t.Kind)
		if u&useInts != 0 {
			s.intCols = append(s.intCols, c)
		}
		if u&useNanos != 0 {
			s.nanoCols = append(s.nanoCols, c)
		}
		if u&useFloats != 0 {
			s.floatCols = append(s.floatCols, c)
		}
		if u&useDecs != 0 {
			s.decCols = append(s.decCols, c)
		}
		if u&useStr != 0 {
			s.strCols = append(s.strCols, c)
		}
		if c.t.Kind == spec.TypeStruct {
			c.seen = make([]uint32, len(c.children))
			c.keyFlags = make([]uint8, len(c.children))
			for j, name := range c.t.FieldNames {
				if !strings.ContainsFunc(name, func(r rune) bool { return r == '"' || r == '\\' || r < 0x20 }) {
					c.keyFlags[j] |= keyPlain
				}
				if c == s.root && s.field != "" && equalFoldASCII([]byte(name), s.field) {
					c.keyFlags[j] |= keyIsField
				}
			}
		}
	}
	s.cv.zone = o.zone
	s.row.s = s
	return s
}

// Row is one record converted by a Scanner, valid until its next Scan or
// Convert. It implements writer.Row for the files of the scanner's Format.
type Row struct {
	s   *Scanner
	err error // why the record does not fit; nothing of it is appended
}

var _ writer.Row = (*Row)(nil)

// AppendTo adds the row to enc, an encoder of the Format that scanned it.
// A row that did not convert returns its *writer.RecordError and leaves
// no trace in the file.
func (r *Row) AppendTo(enc writer.Encoder) error {
	w, ok := enc.(*Writer)
	if !ok {
		return fmt.Errorf("orc: append row: encoder %T is not an ORC writer", enc)
	}
	return w.AppendRow(r)
}

// Scan converts rec in one pass. field is the raw JSON text of the last
// top-level member named like the scanner's field (a string with its
// quotes), nil if there is none. ok is false when the one pass does not
// take the record (see Scanner); row and field are then nil.
func (s *Scanner) Scan(rec []byte) (row *Row, field []byte, ok bool) {
	s.clear()
	s.b, s.fv = rec, nil
	i := skipWS(rec, 0)
	if i >= len(rec) || rec[i] != '{' {
		return nil, nil, false
	}
	i, ok = s.object(s.root, i, 0, true)
	if !ok || skipWS(rec, i) != len(rec) {
		s.b = nil
		return nil, nil, false
	}
	s.b, s.rec = nil, rec
	s.row.err = nil
	return &s.row, s.fv, true
}

// Convert is the reference path: rec parsed by fastjson and converted
// value by value (convert.go). The row carries the reason a record is
// rejected.
func (s *Scanner) Convert(rec []byte) *Row {
	s.clear()
	s.row.err = nil
	v, err := s.parser.ParseBytes(rec)
	if err != nil {
		s.row.err = &writer.RecordError{Reason: "not JSON: " + truncatedError(err)}
		return &s.row
	}
	if err := s.cv.appendRoot(s.root, v); err != nil {
		s.clear()
		var ce *convertError
		if errors.As(err, &ce) {
			err = &writer.RecordError{Reason: ce.Error()}
		}
		s.row.err = err
	}
	return &s.row
}

// span is a string value of a row: bytes start..end of the record, or of
// the scanner's arena when start has inArena set. Offsets rather than
// slices keep the scratch columns free of pointers, so starting a record
// needs no clearing of references and appending a value no write barrier.
type span struct{ start, end uint32 }

const inArena = 1 << 31

// addString adds a string value to c in the row. A value that is a piece
// of the record is kept as a reference, not copied: the row is appended
// before the record is let go.
func (s *Scanner) addString(c *column, v []byte) {
	if p, ok := s.inRecord(v); ok {
		c.spans = append(c.spans, span{p, p + uint32(len(v))})
		return
	}
	at := uint32(len(s.arena))
	s.arena = append(s.arena, v...)
	c.spans = append(c.spans, span{at | inArena, uint32(len(s.arena))})
}

// inRecord says whether v is a piece of the record, and where.
func (s *Scanner) inRecord(v []byte) (uint32, bool) {
	if len(v) == 0 || len(s.b) == 0 {
		return 0, len(s.b) > 0
	}
	p, start := uintptr(unsafe.Pointer(unsafe.SliceData(v))), uintptr(unsafe.Pointer(unsafe.SliceData(s.b)))
	if p >= start && p+uintptr(len(v)) <= start+uintptr(len(s.b)) {
		return uint32(p - start), true
	}
	return 0, false
}

// value is the bytes of a span of the row.
func (s *Scanner) spanBytes(v span) []byte {
	if v.start&inArena != 0 {
		return s.arena[v.start&^inArena : v.end]
	}
	return s.rec[v.start:v.end]
}

func (s *Scanner) clear() {
	s.arena, s.rec = s.arena[:0], nil
	for _, c := range s.cols {
		c.present, c.nulls = c.present[:0], 0
	}
	for _, c := range s.intCols {
		c.ints = c.ints[:0]
	}
	for _, c := range s.nanoCols {
		c.nanos = c.nanos[:0]
	}
	for _, c := range s.floatCols {
		c.floats = c.floats[:0]
	}
	for _, c := range s.decCols {
		c.decs = c.decs[:0]
	}
	for _, c := range s.strCols {
		c.spans = c.spans[:0]
		c.str.data, c.str.ends = c.str.data[:0], c.str.ends[:0]
	}
}

// appendFrom adds the values of column sc of row r to c. Most
// columns have one value per row, which is appended as such rather than
// as a slice, a few times cheaper. It reports whether a buffer of c may
// have been reallocated: summing the capacities of every column after
// every row, to charge the budget, cost more than the checks here.
func (c *column) appendFrom(sc *column, r *Scanner) (grew bool) {
	c.nulls += sc.nulls
	if len(c.present)+len(sc.present) > cap(c.present) {
		c.present, grew = grown(c.present, len(sc.present)), true
	}
	if len(sc.present) == 1 {
		c.present = append(c.present, sc.present[0])
	} else {
		c.present = append(c.present, sc.present...)
	}
	if len(c.ints)+len(sc.ints) > cap(c.ints) {
		c.ints, grew = grown(c.ints, len(sc.ints)), true
	}
	switch len(sc.ints) {
	case 0:
	case 1:
		c.ints = append(c.ints, sc.ints[0])
	default:
		c.ints = append(c.ints, sc.ints...)
	}
	if len(sc.nanos) > 0 {
		if len(c.nanos)+len(sc.nanos) > cap(c.nanos) {
			c.nanos, grew = grown(c.nanos, len(sc.nanos)), true
		}
		c.nanos = append(c.nanos, sc.nanos...)
	}
	if len(sc.floats) > 0 {
		if len(c.floats)+len(sc.floats) > cap(c.floats) {
			c.floats, grew = grown(c.floats, len(sc.floats)), true
		}
		c.floats = append(c.floats, sc.floats...)
	}
	if len(sc.decs) > 0 {
		if len(c.decs)+len(sc.decs) > cap(c.decs) {
			c.decs, grew = grown(c.decs, len(sc.decs)), true
		}
		c.decs = append(c.decs, sc.decs...)
	}
	for _, v := range sc.spans {
		if c.str.add(r.spanBytes(v)) {
			grew = true
		}
	}
	start := uint32(0)
	for _, end := range sc.str.ends {
		if c.str.add(sc.str.data[start:end]) {
			grew = true
		}
		start = end
	}
	return grew
}

// ws skips whitespace at b[i]; records are mostly compact, so the test
// for none is kept small enough to inline.
func ws(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i
	}
	return skipWS(b, i)
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// object scans the object at b[i] == '{' into the struct column c, whose
// present bit the caller has set.
func (s *Scanner) object(c *column, i, depth int, top bool) (int, bool) {
	if depth > maxScanDepth {
		return 0, false
	}
	b := s.b
	c.stamp++
	if c.stamp == 0 {
		clear(c.seen)
		c.stamp = 1
	}
	i = ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return 0, false
			}
			var ke, idx int
			var isField, ok bool
			if n, end := s.expectedKey(c, i+1); end > 0 {
				ke, idx, c.next = end, n, n+1
				isField = top && c.keyFlags[n]&keyIsField != 0
			} else {
				var esc bool
				ke, esc, ok = s.str(i + 1)
				if !ok {
					return 0, false
				}
				key := b[i+1 : ke]
				if esc {
					s.kbuf = unescape(s.kbuf[:0], key)
					key = s.kbuf
				}
				isField = top && s.field != "" && equalFoldASCII(key, s.field)
				idx = s.fieldOf(c, key)
			}
			i = ws(b, ke+1)
			if i >= len(b) || b[i] != ':' {
				return 0, false
			}
			i = ws(b, i+1)
			vs := i
			if idx >= 0 {
				if c.seen[idx] == c.stamp {
					return 0, false // a key twice: the reference path keeps the last
				}
				c.seen[idx] = c.stamp
				i, ok = s.value(c.children[idx], i, depth+1)
			} else {
				i, ok = s.skip(i, depth+1)
			}
			if !ok {
				return 0, false
			}
			if isField {
				s.fv = b[vs:i]
			}
			i = ws(b, i)
			if i >= len(b) {
				return 0, false
			}
			if b[i] == ',' {
				i = ws(b, i+1)
				continue
			}
			if b[i] != '}' {
				return 0, false
			}
			i++
			break
		}
	}
	for j, ch := range c.children {
		if c.seen[j] != c.stamp {
			ch.appendNull()
		}
	}
	return i, true
}

// Flags of a struct's field names, for expectedKey.
const (
	keyPlain   = 1 << iota // no byte that JSON escapes or ends a string at
	keyIsField             // the top-level field Scan returns
)

// expectedKey checks whether the key whose content starts at b[i] is
// exactly the name of the field fieldOf would try first, and returns that
// field and the key's closing quote (0 if not). For a name without quotes,
// backslashes or control characters, the name followed by a quote is the
// whole key, so the key need not be scanned for its end.
func (s *Scanner) expectedKey(c *column, i int) (int, int) {
	names := c.t.FieldNames
	n := c.next
	if n >= len(names) {
		n = 0
	}
	if n >= len(names) || c.keyFlags[n]&keyPlain == 0 {
		return 0, 0
	}
	name := names[n]
	end := i + len(name)
	if end < len(s.b) && s.b[end] == '"' && string(s.b[i:end]) == name {
		return n, end
	}
	return 0, 0
}

// fieldOf is the index of the child of struct c that key fills, or -1.
// Records of a topic mostly list their keys in one order, so the field
// after the last one found is tried first, and after the last field the
// first (the next record's first key).
func (s *Scanner) fieldOf(c *column, key []byte) int {
	names := c.t.FieldNames
	n := c.next
	if n >= len(names) {
		n = 0
	}
	if n < len(names) && string(key) == names[n] {
		c.next = n + 1
		return n
	}
	idx, ok := c.fieldIndex[string(key)]
	if !ok {
		s.lbuf = lowerASCII(s.lbuf[:0], key)
		if idx, ok = c.fieldIndex[string(s.lbuf)]; !ok {
			return -1
		}
	}
	c.next = idx + 1
	return idx
}

// value scans the value at b[i] into column c.
func (s *Scanner) value(c *column, i, depth int) (int, bool) {
	b := s.b
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		end, esc, ok := s.str(i + 1)
		if !ok {
			return 0, false
		}
		text := b[i+1 : end]
		if esc {
			s.ubuf = unescape(s.ubuf[:0], text)
			text = s.ubuf
		}
		return end + 1, s.fromString(c, text)
	case 'n':
		if !lit(b, i, "null") {
			return 0, false
		}
		c.appendNull()
		return i + 4, true
	case 't':
		if !lit(b, i, "true") {
			return 0, false
		}
		return i + 4, s.fromBool(c, true)
	case 'f':
		if !lit(b, i, "false") {
			return 0, false
		}
		return i + 5, s.fromBool(c, false)
	case '{':
		switch c.t.Kind {
		case spec.TypeStruct:
			c.present = append(c.present, true)
			return s.object(c, i, depth, false)
		case spec.TypeMap:
			return s.mapObject(c, i, depth)
		}
		return 0, false
	case '[':
		if c.t.Kind != spec.TypeList {
			return 0, false
		}
		return s.list(c, i, depth)
	}
	switch c.t.Kind {
	case spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong:
		if n, end, ok := plainInt(b, i); ok {
			if !fitsInt(c.t.Kind, n) {
				return 0, false
			}
			c.ints = append(c.ints, n)
			c.present = append(c.present, true)
			return end, true
		}
	}
	end, ok := number(b, i)
	if !ok {
		return 0, false
	}
	return end, s.fromNumber(c, b[i:end])
}

// plainInt reads the JSON number at b[i] in the same pass that finds its
// end, when it is an integer of up to 18 digits without fraction or
// exponent (what numberInt takes directly); anything else is left to
// number and fromNumber.
func plainInt(b []byte, i int) (int64, int, bool) {
	j := i
	neg := j < len(b) && b[j] == '-'
	if neg {
		j++
	}
	start := j
	var n int64
	for j < len(b) && b[j]-'0' < 10 {
		n = n*10 + int64(b[j]-'0')
		j++
	}
	digits := j - start
	if digits == 0 || digits > 18 || digits > 1 && b[start] == '0' {
		return 0, 0, false
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return 0, 0, false
	}
	if neg {
		n = -n
	}
	return n, j, true
}

func lit(b []byte, i int, word string) bool {
	return len(b)-i >= len(word) && string(b[i:i+len(word)]) == word
}

func (s *Scanner) list(c *column, i, depth int) (int, bool) {
	if depth > maxScanDepth {
		return 0, false
	}
	b := s.b
	c.present = append(c.present, true)
	at := len(c.ints)
	c.ints = append(c.ints, 0)
	n := int64(0)
	i = ws(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = s.value(c.children[0], i, depth+1); !ok {
			return 0, false
		}
		n++
		i = ws(b, i)
		if i >= len(b) {
			return 0, false
		}
		if b[i] == ',' {
			i = ws(b, i+1)
			continue
		}
		if b[i] != ']' {
			return 0, false
		}
		c.ints[at] = n
		return i + 1, true
	}
}

// mapObject scans an object into a map column: every member is an entry,
// duplicates included, as the reference converter has it.
func (s *Scanner) mapObject(c *column, i, depth int) (int, bool) {
	if depth > maxScanDepth {
		return 0, false
	}
	b := s.b
	c.present = append(c.present, true)
	at := len(c.ints)
	c.ints = append(c.ints, 0)
	n := int64(0)
	kc, vc := c.children[0], c.children[1]
	i = ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		ke, esc, ok := s.str(i + 1)
		if !ok {
			return 0, false
		}
		key := b[i+1 : ke]
		if esc {
			s.kbuf = unescape(s.kbuf[:0], key)
			key = s.kbuf
		}
		// A key is a string to the key column, whatever its type.
		if !s.fromString(kc, key) {
			return 0, false
		}
		i = ws(b, ke+1)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		if i, ok = s.value(vc, ws(b, i+1), depth+1); !ok {
			return 0, false
		}
		n++
		i = ws(b, i)
		if i >= len(b) {
			return 0, false
		}
		if b[i] == ',' {
			i = ws(b, i+1)
			continue
		}
		if b[i] != '}' {
			return 0, false
		}
		c.ints[at] = n
		return i + 1, true
	}
}

// skip validates the value at b[i] that no column takes.
func (s *Scanner) skip(i, depth int) (int, bool) {
	b := s.b
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		end, _, ok := s.str(i + 1)
		return end + 1, ok
	case 'n':
		return i + 4, lit(b, i, "null")
	case 't':
		return i + 4, lit(b, i, "true")
	case 'f':
		return i + 5, lit(b, i, "false")
	case '{', '[':
		if depth > maxScanDepth {
			return 0, false
		}
		closer := byte('}')
		if b[i] == '[' {
			closer = ']'
		}
		i = ws(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			var ok bool
			if closer == '}' {
				if i >= len(b) || b[i] != '"' {
					return 0, false
				}
				end, _, ok := s.str(i + 1)
				if !ok {
					return 0, false
				}
				i = ws(b, end+1)
				if i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i = ws(b, i+1)
			}
			if i, ok = s.skip(i, depth+1); !ok {
				return 0, false
			}
			i = ws(b, i)
			if i >= len(b) {
				return 0, false
			}
			if b[i] == ',' {
				i = ws(b, i+1)
				continue
			}
			if b[i] != closer {
				return 0, false
			}
			return i + 1, true
		}
	}
	return number(b, i)
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// str finds the closing quote of the string whose content starts at b[i],
// checking RFC 8259's rules on the way (no control characters, only the
// defined escapes). esc says whether it has any escape.
func (s *Scanner) str(i int) (end int, esc, ok bool) {
	b := s.b
	for {
		// Eight bytes at a time while none is a quote, a backslash or a
		// control character: a byte x is one of those when x^'"', x^'\\'
		// or x&0xe0 is zero, and (v-ones)&^v&highs has the high bit of
		// the lowest zero byte of v set (and none below it).
		for i+8 <= len(b) {
			v := binary.LittleEndian.Uint64(b[i:])
			q := v ^ (ones * '"')
			bs := v ^ (ones * '\\')
			ctl := v & (ones * 0xe0)
			m := ((q - ones) &^ q) | ((bs - ones) &^ bs) | ((ctl - ones) &^ ctl)
			if m &= highs; m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(b) {
			return 0, false, false
		}
		switch ch := b[i]; {
		case ch == '"':
			return i, esc, true
		case ch == '\\':
			esc = true
			if i+1 >= len(b) {
				return 0, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 {
					return 0, false, false
				}
				if _, ok := hex4(b[i+2 : i+6]); !ok {
					return 0, false, false
				}
				i += 6
			default:
				return 0, false, false
			}
		case ch < 0x20:
			return 0, false, false
		default:
			i++
		}
	}
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, ch := range b[:4] {
		switch {
		case ch >= '0' && ch <= '9':
			r = r<<4 | rune(ch-'0')
		case ch >= 'a' && ch <= 'f':
			r = r<<4 | rune(ch-'a'+10)
		case ch >= 'A' && ch <= 'F':
			r = r<<4 | rune(ch-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unescape appends the string content s (valid JSON, see str) to dst
// decoded as the reference parser decodes it: a surrogate escape followed
// by another escape combines with it (U+FFFD when they are no pair), and a
// lone one stays as its six characters. Invalid UTF-8 is kept as it is.
func unescape(dst, s []byte) []byte {
	for {
		k := bytes.IndexByte(s, '\\')
		if k < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:k]...)
		ch := s[k+1]
		s = s[k+2:]
		switch ch {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(s)
			xs := s[:4]
			s = s[4:]
			if !utf16.IsSurrogate(r) {
				dst = utf8.AppendRune(dst, r)
				break
			}
			if len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
				r2, _ := hex4(s[2:])
				dst = utf8.AppendRune(dst, utf16.DecodeRune(r, r2))
				s = s[6:]
				break
			}
			dst = append(dst, `\u`...)
			dst = append(dst, xs...)
		default: // '"', '\\', '/'
			dst = append(dst, ch)
		}
	}
}

// number returns the end of the JSON number at b[i] (RFC 8259 grammar).
func number(b []byte, i int) (int, bool) {
	n := len(b)
	if i < n && b[i] == '-' {
		i++
	}
	if i >= n {
		return 0, false
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i++
		for i < n && b[i]-'0' < 10 {
			i++
		}
	default:
		return 0, false
	}
	if i < n && b[i] == '.' {
		i++
		if i >= n || b[i]-'0' >= 10 {
			return 0, false
		}
		for i < n && b[i]-'0' < 10 {
			i++
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= n || b[i]-'0' >= 10 {
			return 0, false
		}
		for i < n && b[i]-'0' < 10 {
			i++
		}
	}
	return i, true
}

// The from* functions convert one scalar as convert.go's append does for
// the same JSON value, or return false where it would reject it.

func (s *Scanner) fromString(c *column, text []byte) bool {
	cv := &s.cv
	switch c.t.Kind {
	case spec.TypeBoolean:
		var v int64
		switch {
		case equalFoldASCII(text, "true"):
			v = 1
		case equalFoldASCII(text, "false"):
		default:
			return false
		}
		c.ints = append(c.ints, v)
	case spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong:
		n, ok := parseInt(text)
		if !ok || !fitsInt(c.t.Kind, n) {
			return false
		}
		c.ints = append(c.ints, n)
	case spec.TypeFloat, spec.TypeDouble:
		// NaN and ±Infinity have no JSON number spelling, so strings may
		// carry them.
		return appendFloat(c, trimSpace(text))
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		s.addString(c, cv.fit(c, text))
	case spec.TypeBinary:
		n := base64.StdEncoding.DecodedLen(len(text))
		if cap(cv.buf) < n {
			cv.buf = make([]byte, n)
		}
		m, err := base64.StdEncoding.Decode(cv.buf[:n], text)
		if err != nil {
			return false
		}
		s.addString(c, cv.buf[:m])
	case spec.TypeDate:
		days, ok := parseDate(text)
		if !ok {
			return false
		}
		c.ints = append(c.ints, days)
	case spec.TypeTimestamp:
		secs, nanos, instant, ok := parseTimestamp(text)
		if !ok {
			return false
		}
		return s.appendTimestamp(c, secs, nanos, instant)
	case spec.TypeDecimal:
		d, ok := parseDecimal(text, c.t.Precision, c.t.Scale)
		if !ok {
			return false
		}
		c.decs = append(c.decs, d)
	default:
		return false
	}
	c.present = append(c.present, true)
	return true
}

func (s *Scanner) fromNumber(c *column, text []byte) bool {
	switch c.t.Kind {
	case spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong:
		n, ok := numberInt(text)
		if !ok || !fitsInt(c.t.Kind, n) {
			return false
		}
		c.ints = append(c.ints, n)
	case spec.TypeFloat, spec.TypeDouble:
		return appendFloat(c, text)
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		s.addString(c, s.cv.fit(c, text))
	case spec.TypeDate:
		days, ok := numberInt(text)
		if !ok || days < math.MinInt32 || days > math.MaxInt32 {
			return false
		}
		c.ints = append(c.ints, days)
	case spec.TypeTimestamp:
		ms, ok := numberInt(text)
		if !ok {
			return false
		}
		return s.appendTimestamp(c, floorDiv(ms, 1000), uint32(floorMod(ms, 1000))*1e6, true)
	case spec.TypeDecimal:
		d, ok := parseDecimal(text, c.t.Precision, c.t.Scale)
		if !ok {
			return false
		}
		c.decs = append(c.decs, d)
	default:
		return false
	}
	c.present = append(c.present, true)
	return true
}

func (s *Scanner) fromBool(c *column, v bool) bool {
	switch c.t.Kind {
	case spec.TypeBoolean:
		var n int64
		if v {
			n = 1
		}
		c.ints = append(c.ints, n)
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		text := falseText
		if v {
			text = trueText
		}
		s.addString(c, s.cv.fit(c, text))
	default:
		return false
	}
	c.present = append(c.present, true)
	return true
}

var trueText, falseText = []byte("true"), []byte("false")

func appendFloat(c *column, text []byte) bool {
	if len(text) == 0 {
		return false
	}
	// The string does not outlive the call (errors are dropped).
	f, err := strconv.ParseFloat(unsafe.String(&text[0], len(text)), 64)
	if err != nil {
		return false
	}
	if c.t.Kind == spec.TypeFloat {
		f = float64(float32(f))
	}
	c.floats = append(c.floats, f)
	c.present = append(c.present, true)
	return true
}

// appendTimestamp ends fromString and fromNumber for a timestamp; it sets
// the present bit itself.
func (s *Scanner) appendTimestamp(c *column, secs int64, nanos uint32, instant bool) bool {
	if instant {
		secs = s.cv.wallClock(secs)
	}
	if secs == -1 && nanos > 999999 {
		return false // see converter.append
	}
	c.ints = append(c.ints, secs)
	c.nanos = append(c.nanos, nanos)
	c.present = append(c.present, true)
	return true
}

// numberInt is jsonInt for the text of a JSON number: a plain integer of
// up to 18 digits directly, anything else through the same fastfloat
// calls as the reference path, so that both round alike.
func numberInt(text []byte) (int64, bool) {
	b := text
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) > 0 && len(b) <= 18 {
		var n int64
		plain := true
		for _, ch := range b {
			if ch-'0' >= 10 {
				plain = false
				break
			}
			n = n*10 + int64(ch-'0')
		}
		if plain {
			if neg {
				n = -n
			}
			return n, true
		}
	}
	str := unsafe.String(unsafe.SliceData(text), len(text))
	if n, err := fastfloat.ParseInt64(str); err == nil {
		return n, true
	}
	f, err := fastfloat.Parse(str)
	if err != nil || f != math.Trunc(f) || f < -9.223372036854775808e18 || f >= 9.223372036854775808e18 {
		return 0, false
	}
	return int64(f), true
}
