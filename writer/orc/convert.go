package orc

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/landfall/landfall/writer/orc/spec"
)

type jsonValue = fastjson.Value

// convertError is why a value does not fit its column; the caller turns it
// into a *writer.RecordError after undoing the record.
type convertError struct {
	column string
	want   string
	got    string
}

func (e *convertError) Error() string {
	if e.column == "" {
		return fmt.Sprintf("record: want %s, got %s", e.want, e.got)
	}
	return fmt.Sprintf("column %q: want %s, got %s", e.column, e.want, e.got)
}

// converter turns parsed JSON into column values. It owns scratch buffers so
// that converting a record allocates nothing in the common case.
type converter struct {
	key []byte // lower-cased field name
	buf []byte // unescaped or rendered text
	err convertError

	// zone turns instants into its wall clock (WithTimeZone); nil: UTC.
	// The offset of the zone period last looked up is kept, since one
	// file's records almost always fall in one.
	zone             *time.Location
	zoneFrom, zoneTo int64 // [from, to) in Unix seconds; empty at first
	zoneOff          int64
}

// wallClock is the wall clock in cv.zone, read as UTC, of the instant secs.
func (cv *converter) wallClock(secs int64) int64 {
	if cv.zone == nil {
		return secs
	}
	if secs < cv.zoneFrom || secs >= cv.zoneTo {
		t := time.Unix(secs, 0).In(cv.zone)
		_, off := t.Zone()
		from, to := t.ZoneBounds()
		cv.zoneOff, cv.zoneFrom, cv.zoneTo = int64(off), math.MinInt64, math.MaxInt64
		if !from.IsZero() {
			cv.zoneFrom = from.Unix()
		}
		if !to.IsZero() {
			cv.zoneTo = to.Unix()
		}
	}
	return secs + cv.zoneOff
}

func (cv *converter) fail(c *column, want string, v *jsonValue) error {
	cv.err = convertError{column: c.name, want: want, got: describe(v)}
	return &cv.err
}

func describe(v *jsonValue) string {
	switch v.Type() {
	case fastjson.TypeString:
		return "string " + quoteShort(v.GetStringBytes())
	case fastjson.TypeNumber:
		return "number " + string(truncate(v.MarshalTo(nil), 40))
	case fastjson.TypeTrue:
		return "true"
	case fastjson.TypeFalse:
		return "false"
	case fastjson.TypeObject:
		return "object"
	case fastjson.TypeArray:
		return "array"
	}
	return "null"
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return append(b[:n:n], "..."...)
	}
	return b
}

func quoteShort(b []byte) string {
	if len(b) > 40 {
		return strconv.Quote(string(b[:40])) + "..."
	}
	return strconv.Quote(string(b))
}

// appendRoot converts one record. The root struct is never null.
func (cv *converter) appendRoot(root *column, v *jsonValue) error {
	obj, err := v.Object()
	if err != nil {
		return &convertError{column: "", want: "a JSON object", got: describe(v)}
	}
	return cv.appendFields(root, obj)
}

func (cv *converter) appendFields(c *column, obj *fastjson.Object) error {
	vals := c.scratch
	clear(vals)
	obj.Visit(func(k []byte, v *jsonValue) {
		if i, ok := c.fieldIndex[string(k)]; ok {
			vals[i] = v
			return
		}
		cv.key = lowerASCII(cv.key[:0], k)
		if i, ok := c.fieldIndex[string(cv.key)]; ok {
			vals[i] = v
		}
	})
	for i, ch := range c.children {
		v := vals[i]
		vals[i] = nil // drop the reference: the parser reuses values
		if err := cv.append(ch, v); err != nil {
			clear(vals[i:])
			return err
		}
	}
	return nil
}

func lowerASCII(dst, s []byte) []byte {
	for _, ch := range s {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		dst = append(dst, ch)
	}
	return dst
}

func (c *column) appendNull() {
	c.present = append(c.present, false)
	c.nulls++
}

func (cv *converter) append(c *column, v *jsonValue) error {
	if v == nil || v.Type() == fastjson.TypeNull {
		c.appendNull()
		return nil
	}
	switch c.t.Kind {
	case spec.TypeBoolean:
		var b int64
		switch v.Type() {
		case fastjson.TypeTrue:
			b = 1
		case fastjson.TypeFalse:
		case fastjson.TypeString:
			s := v.GetStringBytes()
			switch {
			case equalFoldASCII(s, "true"):
				b = 1
			case equalFoldASCII(s, "false"):
			default:
				return cv.fail(c, "boolean", v)
			}
		default:
			return cv.fail(c, "boolean", v)
		}
		c.ints = append(c.ints, b)
	case spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong:
		n, ok := jsonInt(v)
		if !ok || !fitsInt(c.t.Kind, n) {
			return cv.fail(c, c.t.Kind.String(), v)
		}
		c.ints = append(c.ints, n)
	case spec.TypeFloat, spec.TypeDouble:
		f, ok := cv.jsonFloat(v)
		if !ok {
			return cv.fail(c, c.t.Kind.String(), v)
		}
		if c.t.Kind == spec.TypeFloat {
			f = float64(float32(f))
		}
		c.floats = append(c.floats, f)
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		c.str.add(cv.fit(c, cv.text(v)))
	case spec.TypeBinary:
		if v.Type() != fastjson.TypeString {
			return cv.fail(c, "base64 string", v)
		}
		s := v.GetStringBytes()
		n := base64.StdEncoding.DecodedLen(len(s))
		if cap(cv.buf) < n {
			cv.buf = make([]byte, n)
		}
		m, err := base64.StdEncoding.Decode(cv.buf[:n], s)
		if err != nil {
			return cv.fail(c, "base64 string", v)
		}
		c.str.add(cv.buf[:m])
	case spec.TypeDate:
		var days int64
		var ok bool
		switch v.Type() {
		case fastjson.TypeString:
			days, ok = parseDate(v.GetStringBytes())
		case fastjson.TypeNumber:
			days, ok = jsonInt(v)
			ok = ok && days >= math.MinInt32 && days <= math.MaxInt32
		}
		if !ok {
			return cv.fail(c, "date", v)
		}
		c.ints = append(c.ints, days)
	case spec.TypeTimestamp:
		var secs int64
		var nanos uint32
		var ok bool
		var instant bool
		switch v.Type() {
		case fastjson.TypeString:
			secs, nanos, instant, ok = parseTimestamp(v.GetStringBytes())
		case fastjson.TypeNumber:
			// Numbers are milliseconds since the Unix epoch, what log
			// producers most often emit.
			var ms int64
			ms, ok = jsonInt(v)
			secs, nanos, instant = floorDiv(ms, 1000), uint32(floorMod(ms, 1000))*1e6, true
		}
		if !ok {
			return cv.fail(c, "timestamp", v)
		}
		if instant {
			secs = cv.wallClock(secs)
		}
		if secs == -1 && nanos > 999999 {
			// ORC stores seconds as Java's truncating division left them and
			// readers subtract a second back only when the stored second is
			// negative: (-1s, 0) with a millisecond fraction reads one second
			// late in Apache ORC's Java and C++ readers. Reject, not corrupt.
			return cv.fail(c, "timestamp outside the last second before 1970", v)
		}
		c.ints = append(c.ints, secs)
		c.nanos = append(c.nanos, nanos)
	case spec.TypeDecimal:
		var text []byte
		switch v.Type() {
		case fastjson.TypeNumber:
			cv.buf = v.MarshalTo(cv.buf[:0])
			text = cv.buf
		case fastjson.TypeString:
			text = v.GetStringBytes()
		default:
			return cv.fail(c, c.t.String(), v)
		}
		d, ok := parseDecimal(text, c.t.Precision, c.t.Scale)
		if !ok {
			return cv.fail(c, c.t.String(), v)
		}
		c.decs = append(c.decs, d)
	case spec.TypeStruct:
		obj, err := v.Object()
		if err != nil {
			return cv.fail(c, "object", v)
		}
		c.present = append(c.present, true)
		return cv.appendFields(c, obj)
	case spec.TypeList:
		arr, err := v.Array()
		if err != nil {
			return cv.fail(c, "array", v)
		}
		c.present = append(c.present, true)
		c.ints = append(c.ints, int64(len(arr)))
		for _, e := range arr {
			if err := cv.append(c.children[0], e); err != nil {
				return err
			}
		}
		return nil
	case spec.TypeMap:
		obj, err := v.Object()
		if err != nil {
			return cv.fail(c, "object", v)
		}
		c.present = append(c.present, true)
		c.ints = append(c.ints, int64(obj.Len()))
		var ferr error
		obj.Visit(func(k []byte, e *jsonValue) {
			if ferr != nil {
				return
			}
			if ferr = cv.appendKey(c.children[0], k); ferr == nil {
				ferr = cv.append(c.children[1], e)
			}
		})
		return ferr
	default:
		return fmt.Errorf("orc: column %q: type %s is not supported", c.name, c.t.Kind)
	}
	c.present = append(c.present, true)
	return nil
}

// fit shapes a string for its column: varchar(n) truncated to n
// characters, char(n) also padded to n.
func (cv *converter) fit(c *column, b []byte) []byte {
	switch c.t.Kind {
	case spec.TypeVarchar:
		return truncateChars(b, c.t.MaxLength)
	case spec.TypeChar:
		return padChars(truncateChars(b, c.t.MaxLength), c.t.MaxLength, &cv.buf)
	}
	return b
}

// appendKey converts a map key, which JSON always spells as a string.
func (cv *converter) appendKey(c *column, k []byte) error {
	switch c.t.Kind {
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		c.str.add(cv.fit(c, k))
		c.present = append(c.present, true)
		return nil
	}
	// Other key types parse the key text as that type would parse a string.
	var tmp fastjson.Arena
	return cv.append(c, tmp.NewStringBytes(k))
}

// text is a value as a string column stores it: strings unescaped, other
// scalars and nested values as their JSON text (what Hive's JSON SerDe does).
func (cv *converter) text(v *jsonValue) []byte {
	switch v.Type() {
	case fastjson.TypeString:
		return v.GetStringBytes()
	case fastjson.TypeTrue:
		return []byte("true")
	case fastjson.TypeFalse:
		return []byte("false")
	}
	cv.buf = v.MarshalTo(cv.buf[:0])
	return cv.buf
}

func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// jsonInt accepts integral JSON numbers and strings holding one.
func jsonInt(v *jsonValue) (int64, bool) {
	switch v.Type() {
	case fastjson.TypeNumber:
		n, err := v.Int64()
		if err == nil {
			return n, true
		}
		// 1e3 or 5.0 are integral too; accept them when exact.
		f, err := v.Float64()
		if err != nil || f != math.Trunc(f) || f < -9.223372036854775808e18 || f >= 9.223372036854775808e18 {
			return 0, false
		}
		return int64(f), true
	case fastjson.TypeString:
		return parseInt(v.GetStringBytes())
	}
	return 0, false
}

func parseInt(b []byte) (int64, bool) {
	b = trimSpace(b)
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := false
	switch b[0] {
	case '-':
		neg, b = true, b[1:]
	case '+':
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var u uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if u > (math.MaxUint64-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func fitsInt(k spec.TypeKind, n int64) bool {
	switch k {
	case spec.TypeByte:
		return n >= math.MinInt8 && n <= math.MaxInt8
	case spec.TypeShort:
		return n >= math.MinInt16 && n <= math.MaxInt16
	case spec.TypeInt:
		return n >= math.MinInt32 && n <= math.MaxInt32
	}
	return true
}

// jsonFloat parses the number's text with strconv: fastjson's own float
// parser is not correctly rounded (it is off by an ulp on some inputs),
// which would change stored doubles.
func (cv *converter) jsonFloat(v *jsonValue) (float64, bool) {
	var text []byte
	switch v.Type() {
	case fastjson.TypeNumber:
		cv.buf = v.MarshalTo(cv.buf[:0])
		text = cv.buf
	case fastjson.TypeString:
		// NaN and ±Infinity have no JSON number spelling, so strings may
		// carry them.
		text = trimSpace(v.GetStringBytes())
	default:
		return 0, false
	}
	if len(text) == 0 {
		return 0, false
	}
	// The string does not outlive the call (errors are dropped), so it
	// may alias the scratch buffer instead of copying it.
	f, err := strconv.ParseFloat(unsafe.String(&text[0], len(text)), 64)
	return f, err == nil
}

// truncateChars keeps the first n UTF-8 characters, as Hive does for
// varchar(n) and char(n).
func truncateChars(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	i, count := 0, 0
	for i < len(b) && count < n {
		_, size := utf8.DecodeRune(b[i:])
		i += size
		count++
	}
	return b[:i]
}

// padChars pads a char(n) value with spaces to n characters, as Apache ORC's
// writer does. It copies into buf only when padding is needed.
func padChars(b []byte, n int, buf *[]byte) []byte {
	count := utf8.RuneCount(b)
	if count >= n {
		return b
	}
	out := append((*buf)[:0], b...)
	for ; count < n; count++ {
		out = append(out, ' ')
	}
	*buf = out
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

func digits(b []byte, n int) (int64, bool) {
	if len(b) < n {
		return 0, false
	}
	var v int64
	for _, ch := range b[:n] {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		v = v*10 + int64(ch-'0')
	}
	return v, true
}

// daysFromCivil is the proleptic Gregorian day number relative to
// 1970-01-01 (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

var monthDays = [13]int64{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func validDate(y, m, d int64) bool {
	if m < 1 || m > 12 || d < 1 || d > monthDays[m] {
		return false
	}
	if m == 2 && d == 29 {
		return y%4 == 0 && (y%100 != 0 || y%400 == 0)
	}
	return true
}

// parseDate reads YYYY-MM-DD.
func parseDate(b []byte) (int64, bool) {
	b = trimSpace(b)
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(b, 4)
	m, ok2 := digits(b[5:], 2)
	d, ok3 := digits(b[8:], 2)
	if !ok1 || !ok2 || !ok3 || !validDate(y, m, d) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

// parseTimestamp reads Hive's "YYYY-MM-DD HH:MM:SS[.fffffffff]" and the
// RFC 3339 form with a T and an optional Z or ±HH:MM offset (converted to
// UTC). Hive timestamps have no zone: the result is the wall clock read as
// UTC, which is also how the file's writer time zone is declared. instant
// says the text named its zone (Z or an offset), so that secs is an
// instant, not a wall clock.
func parseTimestamp(b []byte) (secs int64, nanos uint32, instant, ok bool) {
	b = trimSpace(b)
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != ' ' && b[10] != 'T') ||
		b[13] != ':' || b[16] != ':' {
		if len(b) == 10 {
			days, ok := parseDate(b)
			return days * 86400, 0, false, ok
		}
		return 0, 0, false, false
	}
	y, ok1 := digits(b, 4)
	mo, ok2 := digits(b[5:], 2)
	d, ok3 := digits(b[8:], 2)
	h, ok4 := digits(b[11:], 2)
	mi, ok5 := digits(b[14:], 2)
	s, ok6 := digits(b[17:], 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || !validDate(y, mo, d) || h > 23 || mi > 59 || s > 59 {
		return 0, 0, false, false
	}
	rest := b[19:]
	if len(rest) > 0 && rest[0] == '.' {
		rest = rest[1:]
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			if n < 9 {
				nanos = nanos*10 + uint32(rest[n]-'0')
			}
			n++
		}
		if n == 0 {
			return 0, 0, false, false
		}
		for i := n; i < 9; i++ {
			nanos *= 10
		}
		rest = rest[n:]
	}
	secs = daysFromCivil(y, mo, d)*86400 + h*3600 + mi*60 + s
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
		instant = true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, okh := digits(rest[1:], 2)
		om, okm := digits(rest[4:], 2)
		if !okh || !okm || oh > 23 || om > 59 {
			return 0, 0, false, false
		}
		off := oh*3600 + om*60
		if rest[0] == '+' {
			off = -off
		}
		secs += off
		instant = true
	default:
		return 0, 0, false, false
	}
	return secs, nanos, instant, true
}

// parseDecimal reads a decimal number (optional sign, digits, fraction,
// exponent) into an unscaled value with the column's scale, rounding half
// away from zero like Hive, and rejects values with more integer digits than
// precision-scale allows.
func parseDecimal(b []byte, precision, scale int) (int128, bool) {
	b = trimSpace(b)
	if len(b) == 0 {
		return int128{}, false
	}
	neg := false
	switch b[0] {
	case '-':
		neg, b = true, b[1:]
	case '+':
		b = b[1:]
	}
	// Split mantissa digits and exponent.
	var (
		mant     [80]byte
		nm       int
		pointPos = -1
		sawDigit bool
		exp      int64
	)
	i := 0
	for ; i < len(b); i++ {
		ch := b[i]
		switch {
		case ch >= '0' && ch <= '9':
			sawDigit = true
			if nm == 0 && ch == '0' && pointPos < 0 {
				continue // leading zeros of the integer part
			}
			if nm >= len(mant) {
				return int128{}, false
			}
			mant[nm] = ch - '0'
			nm++
		case ch == '.' && pointPos < 0:
			pointPos = nm
		default:
			goto tail
		}
	}
tail:
	if !sawDigit {
		return int128{}, false
	}
	if i < len(b) {
		if b[i] != 'e' && b[i] != 'E' {
			return int128{}, false
		}
		e, ok := parseInt(b[i+1:])
		if !ok || e > 100 || e < -100 {
			return int128{}, false
		}
		exp = e
	}
	if pointPos < 0 {
		pointPos = nm
	}
	// Digit k of mant has weight 10^(pointPos-1-k+exp). We need the digits
	// with weight ≥ 10^-scale, and the next one for rounding.
	intDigits := int64(pointPos) + exp // digits before the decimal point
	keep := intDigits + int64(scale)   // digits of the unscaled value
	var v int128
	var overflow bool
	significant := int64(0)
	for k := int64(0); k < keep; k++ {
		d := uint64(0)
		if k >= 0 && k < int64(nm) {
			d = uint64(mant[k])
		}
		if v.hi != 0 || v.lo != 0 || d != 0 {
			significant++
		}
		if significant > int64(precision) {
			return int128{}, false
		}
		if v, overflow = v.mul10add(d); overflow {
			return int128{}, false
		}
	}
	// Round half away from zero on the first dropped digit.
	if keep >= 0 && keep < int64(nm) && mant[keep] >= 5 {
		if v, overflow = v.add(int128{lo: 1}); overflow {
			return int128{}, false
		}
		if digitCount(v) > precision {
			return int128{}, false
		}
	}
	if neg {
		v = v.neg()
	}
	return v, true
}

// digitCount is the number of decimal digits of a non-negative value.
func digitCount(v int128) int {
	n := 0
	for v.hi != 0 || v.lo != 0 {
		v, _ = v.divmod10()
		n++
	}
	return n
}

// divmod10 divides a non-negative value by 10.
func (a int128) divmod10() (int128, uint64) {
	hi := uint64(a.hi)
	qhi := hi / 10
	r := hi % 10
	qlo, rem := bits.Div64(r, a.lo, 10)
	return int128{int64(qhi), qlo}, rem
}

// decimalString renders an unscaled value with scale, trimming trailing
// fraction zeros as Hive prints decimals.
func decimalString(v int128, scale int) string {
	neg := v.hi < 0
	if neg {
		v = v.neg()
	}
	var buf [48]byte
	i := len(buf)
	for n := 0; n < scale || v.hi != 0 || v.lo != 0 || n <= scale; n++ {
		var d uint64
		v, d = v.divmod10()
		i--
		buf[i] = byte('0' + d)
		if n == scale-1 {
			i--
			buf[i] = '.'
		}
	}
	s := buf[i:]
	if scale > 0 {
		for s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		if s[len(s)-1] == '.' {
			s = s[:len(s)-1]
		}
	}
	if neg {
		return "-" + string(s)
	}
	return string(s)
}
