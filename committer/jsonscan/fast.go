package jsonscan

import (
	"bytes"
	"math/bits"
	"sync"
	"unsafe"
)

// The fast path. It handles the common record: an object from the first
// byte to a last '}' (then optional whitespace), with no control character
// in its strings and only spaces for whitespace inside, nesting at most 62
// deep.
//
// It first marks every '"', '\\' and control character, 64 bytes to a
// word of bits, with no branches (marks; with AVX2 where the CPU has it,
// see marks_amd64.s). Then it walks the grammar
// (walk), reading the marks in order: a string's opening quote is the next
// mark, and its closing quote must be the one after, but for escapes.
// Finding a string's end costs a count of trailing zeros; the exact path's
// search instead loads and tests the string's bytes once the previous
// token's end is known, a chain of dependent steps per string, and its
// loop's length varies with the string's. On log records this path takes
// two thirds of the exact path's time.
//
// fast never reports an error: when the input is anything else, or is
// invalid, it returns ok false and Scan runs the exact path, which also
// finds the error.

// smallBlocks is how many 64-byte blocks fast marks in a buffer on the
// stack; longer records take one from markPool.
const smallBlocks = 16

var markPool = sync.Pool{New: func() any { return new([]uint64) }}

// fast is Scan's fast path: see above.
func fast(b []byte, k *Key) (val []byte, kind Kind, escaped, ok bool) {
	n := len(b)
	for n > 0 && isSpace(at(b, n-1)) {
		n--
	}
	// A tab or newline after the brace is pretty-printed JSON, which
	// would fail at once: leave it to the exact path before marking.
	if n < 8 || at(b, 0) != '{' || at(b, n-1) != '}' || at(b, 1) < ' ' {
		return nil, Missing, false, false
	}
	b = b[:n]
	nb := (n + 63) / 64
	if nb <= smallBlocks {
		var m [smallBlocks + 1]uint64
		marks(b, m[:nb+1])
		val, kind, ok = walk(b, m[:nb+1], k)
		return val, kind, kind == String && bytes.IndexByte(val, '\\') >= 0, ok
	}
	p := markPool.Get().(*[]uint64)
	if cap(*p) < nb+1 {
		*p = make([]uint64, nb+1)
	}
	m := (*p)[:nb+1]
	marks(b, m)
	val, kind, ok = walk(b, m, k)
	markPool.Put(p)
	return val, kind, kind == String && bytes.IndexByte(val, '\\') >= 0, ok
}

func isSpace(c byte) bool {
	return c <= ' ' && (1<<' '|1<<'\t'|1<<'\n'|1<<'\r')>>c&1 != 0
}

// marks sets m[k] to the bits of b[64k:64k+64] (bit j for b[64k+j]) that
// are '"', '\\' or a control character, and marks the last byte of b,
// the closing '}', so that every search for a string's end ends before
// the end of b. m has a word for each block of b, the last maybe
// partial, and a last word that is left zero; len(b) >= 8.
func marks(b []byte, m []uint64) {
	n := len(b)
	nb := len(m) - 1
	m[nb] = 0
	if n < 64 {
		m[0] = tailMarks(b) | 1<<(n-1)
		return
	}
	if haveSIMD {
		marksSIMD(unsafe.SliceData(b), n, unsafe.SliceData(m))
		m[nb-1] |= 1 << ((n - 1) % 64)
		return
	}
	marksSWAR(b, m)
}

// marksSWAR is marks for len(b) >= 64, a word at a time.
func marksSWAR(b []byte, m []uint64) {
	n := len(b)
	nb := len(m) - 1
	k := 0
	for ; k+1 < nb; k++ {
		m[k] = blockMarks(b, 64*k)
	}
	// The last block, partial or not, from the last 64 bytes.
	m[k] = blockMarks(b, n-64)>>(64*nb-n) | 1<<((n-1)%64)
}

// blockMarks returns the bits of b[i:i+64] (bit j for b[i+j]) that are
// '"', '\\' or a control character; i+64 <= len(b).
func blockMarks(b []byte, i int) uint64 {
	// ordinary leaves byte j's bit in bit 56+j; shift each word's
	// byte in from the top. The constants come from variables, which
	// the compiler keeps in registers, instead of being loaded afresh
	// for each word.
	k := &ordConsts
	c7f, c02, c5f, c5c, chi, cmul := k[0], k[1], k[2], k[3], k[4], k[5]
	ord := func(w uint64) uint64 {
		w7 := w & c7f
		return ((((w7 ^ c02) + c5f) & ((w7 ^ c5c) + c7f)) | w) & chi * cmul >> 56 << 56
	}
	o := ord(load64(b, i))
	o = o>>8 | ord(load64(b, i+8))
	o = o>>8 | ord(load64(b, i+16))
	o = o>>8 | ord(load64(b, i+24))
	o = o>>8 | ord(load64(b, i+32))
	o = o>>8 | ord(load64(b, i+40))
	o = o>>8 | ord(load64(b, i+48))
	o = o>>8 | ord(load64(b, i+56))
	return ^o
}

// ordConsts are ordinary's constants, for blockMarks.
var ordConsts = [6]uint64{lo * 0x7f, lo * 0x02, lo * 0x5f, lo * '\\', hi, 0x0002040810204081}

// tailMarks is marks for a b shorter than 64 bytes (and at least 8).
func tailMarks(b []byte) uint64 {
	var q uint64
	i := 0
	for ; i+8 <= len(b); i += 8 {
		q |= (^ordinary(load64(b, i)) >> 56) << i
	}
	if r := len(b) - i; r > 0 {
		// The last r bytes, then spaces.
		w := load64(b, len(b)-8)>>(64-8*r) | (lo*' ')<<(8*r)
		q |= (^ordinary(w) >> 56) << i
	}
	return q
}

// ordinary returns one bit per byte of w, bit 56+j for byte j, set when the
// byte is not '"', '\\' or a control character: string content that
// needs no look. Unlike special, it is exact for every byte.
func ordinary(w uint64) uint64 {
	// With x the low 7 bits of a byte: after x^0x02, '"' and the
	// control characters are the bytes below 0x21 (see special), and
	// x^0x02 + 0x5f has its high bit set when it is not one of them,
	// with no carry out of the byte; likewise x^'\\' + 0x7f when x is
	// not '\\'. Bytes >= 0x80 are ordinary.
	w7 := w &^ hi
	a := (w7 ^ lo*0x02) + lo*0x5f
	c := (w7 ^ lo*'\\') + lo*0x7f
	o := (a&c | w) & hi
	// Gather the high bits, byte j's to bit 56+j (the lower bits are
	// left as they fall).
	return o * 0x0002040810204081 &^ (1<<56 - 1)
}

// walk checks the grammar of b, an object with its marks m (see marks),
// and finds the last top-level member key (with fold, ASCII
// case-insensitively). b ends with '}'.
//
// Every mark before b[i] has been read (only spaces are taken for
// whitespace, and anything else that is not string content fails), so
// when b[i] is '"' the next mark is the one at i and the one after it
// should be the closing quote, or the backslash of an escape (escape).
// And since b ends with '}', no byte read up to that needs a bounds check.
//
// The few variables are kept few on purpose: more do not fit in the
// registers.
func walk(b []byte, m []uint64, k *Key) (val []byte, kind Kind, ok bool) {
	if k.exact {
		return
	}
	var look struct {
		key        string
		kw, km, kf uint64 // see Key
		vs, ve     int    // the last value found; ve is 0 until one is
		fold       bool
	}
	look.key, look.kw, look.km, look.kf, look.fold = k.key, k.kw, k.km, k.kf, k.fold
	// Every top-level key is compared, not only those up to the first
	// match: the last match wins.
	want := 1 // 1: looking for key; 2: reading its value
	n := len(b)
	n4 := n - 4 // b[p:p+4] is in b when p <= n4
	base := 0   // q has the unread marks of b[base:base+64], and is not 0
	q := m[0]
	for q == 0 { // the first block may have no mark: spaces
		if base += 64; base>>6 >= len(m) {
			return
		}
		q = m[base>>6]
	}
	i := 1
	// The open containers, innermost in bit 0 (set: object), under a
	// sentinel 1: 0b11 is the top-level object alone.
	stack := uint64(0b11)
	var c byte
	var p int
	ret := 0 // where escape goes back to

objStart: // just after '{'
	switch c = at(b, i); c {
	case '"':
		goto member
	case '}':
		i++
		goto closed
	case ' ':
		for i++; at(b, i) == ' '; i++ {
		}
		goto objStart
	}
	return

member: // b[i] is the '"' that opens a key
	for q &= q - 1; q == 0; q = m[base>>6] {
		if base += 64; base>>6 >= len(m) {
			return
		}
	}
	p = base + bits.TrailingZeros64(q)
	for q &= q - 1; q == 0; q = m[base>>6] {
		if base += 64; base>>6 >= len(m) {
			return
		}
	}
	// Every top-level key is compared (the last match wins), out of
	// line: the common key, of another length, costs two compares. A key
	// with an escape (p is then its first backslash) is compared at its
	// end, by keyEscaped.
	if stack == 0b11 && p-i-1 == len(look.key) {
		goto compareKey
	}
usual:
	// The usual: "key":"value", checked three bytes at a time, and
	// "key":123.
	if p <= n4 {
		w := load32(b, p)
		if w&0xffffff == '"'|':'<<8|'"'<<16 {
			for q &= q - 1; q == 0; q = m[base>>6] {
				if base += 64; base>>6 >= len(m) {
					return
				}
			}
			goto memberValueClose
		}
		if w&0xffff == '"'|':'<<8 {
			i = p + 2
			if c = byte(w >> 16); c-'1' < 9 {
				if i = digits(b, p+3); at(b, i) == ',' && at(b, i+1) == '"' {
					i++
					goto member
				}
				i = p + 2
			}
			goto value
		}
	}
memberTail: // after the key that ends with the mark at p
	if at(b, p) != '"' {
		ret = 1
		goto escape
	}
	i = p + 1
	if at(b, i) != ':' {
		for ; at(b, i) == ' '; i++ {
		}
		if at(b, i) != ':' {
			return
		}
	}
	i++
	if c = at(b, i); c == ' ' {
		for i++; at(b, i) == ' '; i++ {
		}
		c = at(b, i)
	}
	if want == 2 && stack == 0b11 {
		look.vs = i
	}

value: // c = b[i] should start a value
	if c == '"' {
		goto valueString
	}
	if c-'0' < 10 || c == '-' {
		if c == '-' {
			i++
			c = at(b, i)
		}
		if c == '0' {
			i++
		} else if c-'1' < 9 {
			i = digits(b, i+1)
		} else {
			return
		}
		if at(b, i) == '.' {
			if i++; at(b, i)-'0' >= 10 {
				return
			}
			i = digits(b, i+1)
		}
		if at(b, i)|0x20 == 'e' {
			if i++; at(b, i) == '+' || at(b, i) == '-' {
				i++
			}
			if at(b, i)-'0' >= 10 {
				return
			}
			i = digits(b, i+1)
		}
		goto next
	}
	switch c {
	case '{':
		if stack >= 1<<62 {
			return
		}
		stack = stack<<1 | 1
		i++
		goto objStart
	case '[':
		if stack >= 1<<62 {
			return
		}
		stack <<= 1
		i++
		if c = at(b, i); c == ' ' {
			for i++; at(b, i) == ' '; i++ {
			}
			c = at(b, i)
		}
		if c == ']' {
			i++
			goto closed
		}
		goto value
	}
	if c == ' ' {
		for i++; at(b, i) == ' '; i++ {
		}
		if want == 2 && stack == 0b11 {
			look.vs = i
		}
		c = at(b, i)
		goto value
	}
	if i+4 <= n {
		switch load32(b, i) {
		case 't' | 'r'<<8 | 'u'<<16 | 'e'<<24, 'n' | 'u'<<8 | 'l'<<16 | 'l'<<24:
			i += 4
			goto next
		case 'f' | 'a'<<8 | 'l'<<16 | 's'<<24:
			if i+5 <= n && at(b, i+4) == 'e' {
				i += 5
				goto next
			}
		}
	}
	return

valueString: // b[i] is the '"' that opens a value
	for q &= q - 1; q == 0; q = m[base>>6] {
		if base += 64; base>>6 >= len(m) {
			return
		}
	}
valueClose:
	p = base + bits.TrailingZeros64(q)
	for q &= q - 1; q == 0; q = m[base>>6] {
		if base += 64; base>>6 >= len(m) {
			return
		}
	}
	if at(b, p) != '"' {
		ret = 3
		goto escape
	}
	i = p + 1
	goto next

memberValueClose: // the closing quote of "key":"value"
	p = base + bits.TrailingZeros64(q)
	for q &= q - 1; q == 0; q = m[base>>6] {
		if base += 64; base>>6 >= len(m) {
			return
		}
	}
	if p <= n4 && load32(b, p)&0xffffff == '"'|','<<8|'"'<<16 {
		i = p + 2
		goto member
	}
	if at(b, p) != '"' {
		ret = 2
		goto escape
	}
	i = p + 1
	goto next

compareKey: // the top-level key from b[i] to the mark at p is as long as key
	if at(b, p) != '"' {
		ret = 1 // an escape: keyEscaped compares the key
		goto escape
	}
	if look.km != 0 && i+9 <= n {
		if (load64(b, i+1)|look.kf)&look.km != look.kw {
			goto usual
		}
	} else if !equalKey(b[i+1:p], look.key, look.fold) {
		goto usual
	}
	// A member with key is read on the slower path from memberTail,
	// which marks where its value starts and ends.
	want = 2
	goto memberTail

keyEscaped: // an escape in the key from b[i] ended before the next mark
	p = base + bits.TrailingZeros64(q)
	for q &= q - 1; q == 0; q = m[base>>6] {
		if base += 64; base>>6 >= len(m) {
			return
		}
	}
	if at(b, p) != '"' {
		ret = 1
		goto escape
	}
	if stack == 0b11 && unquotedEqual(b[i+1:p], look.key, look.fold) {
		want = 2
		goto memberTail
	}
	goto usual

escape: // the mark at p, read, is not the string's closing quote
	if at(b, p) != '\\' {
		return // a control character
	}
	switch at(b, p+1) {
	case '"', '\\':
		// The escaped character is the next mark.
		for q &= q - 1; q == 0; q = m[base>>6] {
			if base += 64; base>>6 >= len(m) {
				return
			}
		}
	case '/', 'b', 'f', 'n', 'r', 't':
	case 'u':
		if p+5 >= n || unhex(at(b, p+2))|unhex(at(b, p+3))|unhex(at(b, p+4))|unhex(at(b, p+5)) < 0 {
			return
		}
	default:
		return
	}
	switch ret {
	case 1:
		goto keyEscaped
	case 2:
		goto memberValueClose
	}
	goto valueClose

next: // a value ended before b[i]
	if want == 2 && stack == 0b11 {
		want, look.ve = 1, i
	}
afterValue:
	switch c = at(b, i); c {
	case ',':
		i++
		c = at(b, i)
		if stack&1 != 0 {
			if c == '"' {
				goto member
			}
			if c != ' ' {
				return
			}
			for i++; at(b, i) == ' '; i++ {
			}
			if at(b, i) != '"' {
				return
			}
			goto member
		}
		if c == ' ' {
			for i++; at(b, i) == ' '; i++ {
			}
			c = at(b, i)
		}
		goto value
	case '}':
		if stack&1 == 0 {
			return
		}
	case ']':
		if stack&1 != 0 {
			return
		}
	case ' ':
		for i++; at(b, i) == ' '; i++ {
		}
		goto afterValue
	default:
		return
	}
	i++
closed:
	if stack >>= 1; stack > 1 {
		if i >= n {
			return
		}
		goto next
	}
	if i != n {
		return
	}
	if look.ve == 0 {
		return nil, Missing, true
	}
	vs, ve := look.vs, look.ve
	switch c := b[vs]; {
	case c == '"':
		return b[vs+1 : ve-1], String, true
	case c == '-' || c-'0' < 10:
		return b[vs:ve], Number, true
	}
	return b[vs:ve], Other, true
}

// digits returns the index of the first byte at or after b[i] that is not
// a decimal digit.
func digits(b []byte, i int) int {
	for i+8 <= len(b) {
		// A byte is a digit when its high nibble is 3 and adding 6
		// leaves it so. A carry out of a byte >= 0xfa only reaches
		// bytes after a non-digit.
		w := load64(b, i)
		if nd := (w&(lo*0xf0) ^ lo*0x30) | ((w+lo*0x06)&(lo*0xf0) ^ lo*0x30); nd != 0 {
			return i + bits.TrailingZeros64(nd)>>3
		}
		i += 8
	}
	for i < len(b) && at(b, i)-'0' < 10 {
		i++
	}
	return i
}
