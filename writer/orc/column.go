package orc

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"slices"

	"github.com/landfall/landfall/writer/orc/spec"
)

// column buffers one column's values for the stripe being built, in typed
// slices. Encoding into ORC streams happens when the stripe is flushed,
// because two choices need the whole stripe: whether a PRESENT stream is
// needed at all, and dictionary or direct encoding of strings.
//
// A column has one slot per value its parent gives it: a row for top-level
// columns, an element for list children, an entry for map keys and values,
// and only non-null parents for struct fields (a null struct has no values
// below it, as readers expect).
type column struct {
	t        *Type
	id       int
	name     string // path for error messages, e.g. "req.headers{}"
	children []*column

	present []bool // one per slot
	nulls   int

	ints   []int64   // integers, booleans, dates, timestamp seconds, list/map lengths
	nanos  []uint32  // timestamp nanoseconds
	floats []float64 // float and double
	decs   []int128  // decimal unscaled values
	str    strCol    // string, varchar, char, binary
	spans  []span    // Scanner's scratch: string values of the row (see addString)

	rg []int // len(present) at the start of each row group but the first

	fieldIndex map[string]int // struct: lower-case field name → child index
	scratch    []*jsonValue   // struct: field values of the record being converted

	// Scanner's scratch structs: seen[i] == stamp when field i was in the
	// object being scanned; next is the field expected after the last one.
	seen     []uint32
	stamp    uint32
	next     int
	keyFlags []uint8 // per field: keyPlain, keyIsField
}

// mark is a column's buffer lengths before a record, to undo a rejected one.
type mark struct {
	present, nulls, ints, nanos, floats, decs int
	strMark
}

func newColumns(t *Type, name string, dictionaryThreshold float64, seed maphash.Seed) *column {
	c := &column{t: t, id: t.ID, name: name}
	switch t.Kind {
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		c.str.init(true, dictionaryThreshold, seed)
	case spec.TypeBinary:
		c.str.init(false, dictionaryThreshold, seed)
	case spec.TypeStruct:
		c.fieldIndex = make(map[string]int, len(t.Children))
		c.scratch = make([]*jsonValue, len(t.Children))
		for i, f := range t.FieldNames {
			c.fieldIndex[f] = i
		}
	}
	for i, ct := range t.Children {
		var cn string
		switch t.Kind {
		case spec.TypeStruct:
			cn = t.FieldNames[i]
			if name != "" {
				cn = name + "." + cn
			}
		case spec.TypeList:
			cn = name + "[]"
		case spec.TypeMap:
			if i == 0 {
				cn = name + "{key}"
			} else {
				cn = name + "{}"
			}
		}
		c.children = append(c.children, newColumns(ct, cn, dictionaryThreshold, seed))
	}
	return c
}

func (c *column) flat(dst []*column) []*column {
	dst = append(dst, c)
	for _, ch := range c.children {
		dst = ch.flat(dst)
	}
	return dst
}

func (c *column) mark() mark {
	return mark{
		present: len(c.present), nulls: c.nulls, ints: len(c.ints), nanos: len(c.nanos),
		floats: len(c.floats), decs: len(c.decs), strMark: c.str.mark(),
	}
}

func (c *column) rollback(m *mark) {
	c.present = c.present[:m.present]
	c.nulls = m.nulls
	c.ints = c.ints[:m.ints]
	c.nanos = c.nanos[:m.nanos]
	c.floats = c.floats[:m.floats]
	c.decs = c.decs[:m.decs]
	c.str.rollback(&m.strMark)
}

// reset empties the column for the next stripe; release also drops the
// buffers' memory (after a flush forced by the memory budget).
func (c *column) reset(release bool) {
	if release {
		*c = column{t: c.t, id: c.id, name: c.name, children: c.children,
			fieldIndex: c.fieldIndex, scratch: c.scratch, str: c.str}
		c.str.release()
		return
	}
	c.present, c.nulls = c.present[:0], 0
	c.ints, c.nanos, c.floats, c.decs = c.ints[:0], c.nanos[:0], c.floats[:0], c.decs[:0]
	c.rg = c.rg[:0]
	c.str.reset()
}

// heldBytes is the memory the column's buffers hold (their capacity, since
// that is what the process pays for).
func (c *column) heldBytes() int {
	return cap(c.present) + 8*cap(c.ints) + 4*cap(c.nanos) + 8*cap(c.floats) +
		16*cap(c.decs) + 8*cap(c.rg) + c.str.heldBytes()
}

// grown returns s with room for n more elements, and at least half as
// much again as its capacity. A file's column buffers grow from nothing to
// megabytes, and append's growth (a quarter at a time for large slices)
// copied each of them about four times over on the way; growing by half
// copies it about twice. Doubling would copy once, but the budget charges
// capacity: measured on an hour of the quickstart's records, doubling
// held 47% more than append for 2% less CPU than this, which holds 14% more.
func grown[S ~[]E, E any](s S, n int) S {
	return slices.Grow(s, max(n, cap(s)/2, 64))
}

// int128 is a two's complement 128-bit integer, enough for decimal(38).
type int128 struct {
	hi int64
	lo uint64
}

func (a int128) neg() int128 {
	lo := ^a.lo + 1
	hi := ^a.hi
	if lo == 0 {
		hi++
	}
	return int128{hi, lo}
}

func (a int128) add(b int128) (int128, bool) {
	lo, carry := bits.Add64(a.lo, b.lo, 0)
	hi := a.hi + b.hi + int64(carry)
	// Signed overflow: both operands have the same sign and the result not.
	overflow := (a.hi >= 0) == (b.hi >= 0) && (hi >= 0) != (a.hi >= 0)
	return int128{hi, lo}, overflow
}

func (a int128) cmp(b int128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// mul10add returns a*10+d for non-negative a, reporting overflow of 127 bits.
func (a int128) mul10add(d uint64) (int128, bool) {
	hi1, lo := bits.Mul64(a.lo, 10)
	hi := uint64(a.hi)*10 + hi1
	if uint64(a.hi) > (1<<63-1)/10 {
		return a, true
	}
	lo, carry := bits.Add64(lo, d, 0)
	hi += carry
	if hi>>63 != 0 {
		return a, true
	}
	return int128{int64(hi), lo}, false
}

// strCol holds string values: deduplicated in a dictionary while that may
// pay, or as plain bytes and lengths once the column has shown itself too
// distinct for a dictionary (checked after the first row group of a stripe,
// like Apache ORC's writer), which also stops paying for hashing.
type strCol struct {
	dictOK    bool // the type may use a dictionary (not binary)
	threshold float64
	seed      maphash.Seed
	k0, k1    uint64 // keys of hash, from seed

	dictMode bool
	// dictionary mode
	ids   []uint32 // per value
	arena []byte   // distinct values back to back
	offs  []uint32 // start of each distinct value in arena, plus the end
	// open addressing: the hash's high 32 bits << 32 | id+1, 0 = empty.
	// The hash bits let a probe pass over other values without reading
	// them: values of a column often share their length (host names,
	// codes), so most of those comparisons would go through memequal.
	table []uint64
	// direct mode
	data []byte
	ends []uint32 // end offset of each value in data
}

type strMark struct {
	ids, arena, distinct, data, ends int
	dictMode                         bool
}

func (s *strCol) init(dictOK bool, threshold float64, seed maphash.Seed) {
	s.dictOK, s.threshold, s.seed = dictOK, threshold, seed
	s.k0, s.k1 = maphash.String(seed, "k0")|1, maphash.String(seed, "k1")|1
	s.dictMode = dictOK && threshold > 0
	s.offs = append(s.offs[:0], 0)
}

func (s *strCol) reset() {
	s.dictMode = s.dictOK && s.threshold > 0
	s.ids, s.arena, s.offs = s.ids[:0], s.arena[:0], append(s.offs[:0], 0)
	clear(s.table)
	s.data, s.ends = s.data[:0], s.ends[:0]
}

func (s *strCol) release() {
	*s = strCol{dictOK: s.dictOK, threshold: s.threshold, seed: s.seed, k0: s.k0, k1: s.k1}
	s.dictMode = s.dictOK && s.threshold > 0
	s.offs = append(s.offs[:0], 0)
}

func (s *strCol) heldBytes() int {
	return 4*cap(s.ids) + cap(s.arena) + 4*cap(s.offs) + 8*cap(s.table) + cap(s.data) + 4*cap(s.ends)
}

func (s *strCol) distinct() int { return len(s.offs) - 1 }

func (s *strCol) mark() strMark {
	return strMark{ids: len(s.ids), arena: len(s.arena), distinct: s.distinct(),
		data: len(s.data), ends: len(s.ends), dictMode: s.dictMode}
}

func (s *strCol) rollback(m *strMark) {
	if s.dictMode {
		// Remove dictionary entries the record added, newest first: with
		// linear probing no older entry's probe chain runs through a newer
		// entry, so clearing them leaves every older lookup intact.
		for id := s.distinct() - 1; id >= m.distinct; id-- {
			s.unlink(uint32(id))
		}
		s.ids = s.ids[:m.ids]
		s.arena = s.arena[:m.arena]
		s.offs = s.offs[:m.distinct+1]
	}
	s.data = s.data[:m.data]
	s.ends = s.ends[:m.ends]
}

func (s *strCol) value(id uint32) []byte { return s.arena[s.offs[id]:s.offs[id+1]] }

func (s *strCol) unlink(id uint32) {
	mask := uint64(len(s.table) - 1)
	h := s.hash(s.value(id)) & mask
	for s.table[h] != 0 {
		if uint32(s.table[h]) == id+1 {
			s.table[h] = 0
			return
		}
		h = (h + 1) & mask
	}
}

// hash is the dictionary's hash of b. Most dictionary values are short
// (levels, hosts, methods, codes), and for up to 16 bytes two loads and a
// keyed 128-bit multiply cost a fraction of a call of maphash, which takes
// the longer ones. The keys are random per set of columns, so that no
// input can be made to collide on purpose.
func (s *strCol) hash(b []byte) uint64 {
	n := len(b)
	var x, y uint64
	switch {
	case n > 16:
		return maphash.Bytes(s.seed, b)
	case n >= 8:
		x, y = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		x, y = uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[n-4:]))
	case n > 0:
		x = uint64(b[0])<<16 | uint64(b[n/2])<<8 | uint64(b[n-1])
	}
	hi, lo := bits.Mul64(x^s.k0, y^s.k1^uint64(n)<<56)
	hi, lo = bits.Mul64(hi^lo, s.k0^0x9e3779b97f4a7c15)
	return hi ^ lo
}

// add appends value b. It reports whether a buffer may have been
// reallocated, so that the writer recomputes what it holds only then.
func (s *strCol) add(b []byte) (grew bool) {
	if !s.dictMode {
		if len(s.data)+len(b) > cap(s.data) {
			s.data, grew = grown(s.data, len(b)), true
		}
		if len(s.ends) == cap(s.ends) {
			s.ends, grew = grown(s.ends, 1), true
		}
		s.data = append(s.data, b...)
		s.ends = append(s.ends, uint32(len(s.data)))
		return grew
	}
	if 2*s.distinct() >= len(s.table) {
		s.grow()
		grew = true
	}
	if len(s.ids) == cap(s.ids) {
		s.ids, grew = grown(s.ids, 1), true
	}
	mask := uint64(len(s.table) - 1)
	hash := s.hash(b)
	tag := hash &^ (1<<32 - 1)
	h := hash & mask
	for {
		e := s.table[h]
		if e == 0 {
			break
		}
		if e&^(1<<32-1) == tag {
			if id := uint32(e) - 1; string(s.value(id)) == string(b) {
				s.ids = append(s.ids, id)
				return grew
			}
		}
		h = (h + 1) & mask
	}
	id := uint32(s.distinct())
	if len(s.arena)+len(b) > cap(s.arena) {
		s.arena, grew = grown(s.arena, len(b)), true
	}
	if len(s.offs) == cap(s.offs) {
		s.offs, grew = grown(s.offs, 1), true
	}
	s.arena = append(s.arena, b...)
	s.offs = append(s.offs, uint32(len(s.arena)))
	s.table[h] = tag | uint64(id+1)
	s.ids = append(s.ids, id)
	return grew
}

func (s *strCol) grow() {
	n := 2 * len(s.table)
	if n < 1024 {
		n = 1024
	}
	s.table = make([]uint64, n)
	mask := uint64(n - 1)
	for id := 0; id < s.distinct(); id++ {
		hash := s.hash(s.value(uint32(id)))
		h := hash & mask
		for s.table[h] != 0 {
			h = (h + 1) & mask
		}
		s.table[h] = hash&^(1<<32-1) | uint64(id+1)
	}
}

// useDictionary says whether the stripe's values are repetitive enough.
func (s *strCol) useDictionary() bool {
	n := len(s.ids)
	return s.dictMode && (n == 0 || float64(s.distinct()) <= s.threshold*float64(n))
}

// toDirect converts the values buffered so far to direct mode.
func (s *strCol) toDirect() {
	if !s.dictMode {
		return
	}
	for _, id := range s.ids {
		s.data = append(s.data, s.value(id)...)
		s.ends = append(s.ends, uint32(len(s.data)))
	}
	s.dictMode = false
	s.ids, s.arena, s.offs = s.ids[:0], s.arena[:0], append(s.offs[:0], 0)
	s.table = nil
}

// directValue is value i in direct mode.
func (s *strCol) directValue(i int) []byte {
	start := uint32(0)
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.data[start:s.ends[i]]
}
