package reader

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/landfall/landfall/writer/orc/spec"
)

// stripeData is what the column readers of one stripe decode from.
type stripeData struct {
	index int
	// streams are the stripe's raw (still compressed) streams; need
	// decompresses them when a column reader asks, so that a column that
	// fails to build fails before streams after it are touched, and
	// columns left out by projection cost nothing.
	streams   map[streamKey][]byte
	dec       *spec.Decompressor
	limit     int
	enc       []spec.ColumnEncoding
	loc       *time.Location // writer time zone; nil means UTC
	decimal64 bool           // file format UNSTABLE-PRE-2.0: small decimals are DECIMAL64
	maxElems  int
	maxDict   int
	encrypted map[int]bool // columns whose streams are in an encryption variant
}

type streamKey struct {
	col  int
	kind spec.StreamKind
}

// need returns a stream the encoding requires. Writers leave out streams
// that would be empty (a column whose values are all null has no DATA), so
// a missing stream reads as empty: decoding fails with "stream ends early"
// as soon as a value is needed from it, and never invents one. Streams of
// encrypted columns live in the encryption variants, which this reader
// can't decrypt.
func (sd *stripeData) need(col int, kind spec.StreamKind) ([]byte, error) {
	raw, ok := sd.streams[streamKey{col, kind}]
	if !ok {
		if sd.encrypted[col] {
			return nil, fmt.Errorf("%w: column %d", ErrEncrypted, col)
		}
		return nil, nil
	}
	if sd.dec.Kind() == spec.CompressionNone {
		return raw, nil
	}
	b, err := sd.dec.Decompress(nil, raw, sd.limit)
	if err != nil {
		return nil, fmt.Errorf("decompress %v stream of column %d: %w", kind, col, err)
	}
	return b, nil
}

// columnReader decodes one column of a stripe, batch after batch.
type columnReader interface {
	// next decodes n rows into v. mask, when not nil, marks rows that are
	// null in the parent: they are null here too and consume no values.
	next(v *Vector, n int, mask []bool) error
}

// presence decodes the PRESENT stream that every column may have.
type presence struct {
	present *boolRLE
	nullBuf []bool
}

func newPresence(sd *stripeData, col int) (presence, error) {
	if _, ok := sd.streams[streamKey{col, spec.StreamPresent}]; !ok {
		return presence{}, nil
	}
	b, err := sd.need(col, spec.StreamPresent)
	if err != nil {
		return presence{}, err
	}
	return presence{present: &boolRLE{bytes: byteRLE{s: stream{b: b}}}}, nil
}

// nulls sets v.Len and v.Nulls for n rows and returns how many are not null.
func (p *presence) nulls(v *Vector, n int, mask []bool) (int, error) {
	v.Len = n
	if p.present == nil && mask == nil {
		v.Nulls = nil
		return n, nil
	}
	p.nullBuf = grow(p.nullBuf, n)
	nonNull := 0
	for i := 0; i < n; i++ {
		null := false
		if mask != nil && mask[i] {
			null = true
		} else if p.present != nil {
			ok, err := p.present.next()
			if err != nil {
				return 0, fmt.Errorf("PRESENT: %w", err)
			}
			null = !ok
		}
		p.nullBuf[i] = null
		if !null {
			nonNull++
		}
	}
	if nonNull == n {
		v.Nulls = nil
	} else {
		v.Nulls = p.nullBuf
	}
	return nonNull, nil
}

// grow returns s resized to n zeroed elements, reusing its array if it can.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

func newColumnReader(t *Type, sd *stripeData, include []bool) (columnReader, error) {
	if include != nil && !include[t.ID] {
		return nullColumn{}, nil
	}
	col := t.ID
	enc := sd.enc[col]
	v2 := enc.Kind.IsV2()
	switch enc.Kind {
	case spec.EncodingDirect, spec.EncodingDirectV2, spec.EncodingDictionary, spec.EncodingDictionaryV2:
	default:
		return nil, fmt.Errorf("%w: column %d has unknown encoding %v", spec.ErrCorrupt, col, enc.Kind)
	}
	isDict := enc.Kind.IsDictionary()
	if isDict && t.Kind != spec.TypeString && t.Kind != spec.TypeVarchar && t.Kind != spec.TypeChar {
		return nil, fmt.Errorf("%w: %v column %d has dictionary encoding", spec.ErrCorrupt, t.Kind, col)
	}
	p, err := newPresence(sd, col)
	if err != nil {
		return nil, err
	}
	switch t.Kind {
	case spec.TypeBoolean, spec.TypeByte:
		data, err := sd.need(col, spec.StreamData)
		if err != nil {
			return nil, err
		}
		c := &byteColumn{presence: p, boolean: t.Kind == spec.TypeBoolean}
		c.bytes.s.b = data
		c.bits.bytes.s.b = data
		return c, nil
	case spec.TypeShort, spec.TypeInt, spec.TypeLong, spec.TypeDate:
		data, err := sd.need(col, spec.StreamData)
		if err != nil {
			return nil, err
		}
		return &intColumn{presence: p, data: newIntDecoder(data, true, v2)}, nil
	case spec.TypeFloat, spec.TypeDouble:
		data, err := sd.need(col, spec.StreamData)
		if err != nil {
			return nil, err
		}
		size := 8
		if t.Kind == spec.TypeFloat {
			size = 4
		}
		return &floatColumn{presence: p, data: stream{b: data}, size: size}, nil
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar, spec.TypeBinary:
		if isDict {
			return newDictColumn(p, sd, col, enc, v2)
		}
		data, err := sd.need(col, spec.StreamData)
		if err != nil {
			return nil, err
		}
		lengths, err := sd.need(col, spec.StreamLength)
		if err != nil {
			return nil, err
		}
		return &bytesColumn{presence: p, data: stream{b: data}, lengths: newIntDecoder(lengths, false, v2)}, nil
	case spec.TypeTimestamp, spec.TypeTimestampInstant:
		data, err := sd.need(col, spec.StreamData)
		if err != nil {
			return nil, err
		}
		nanos, err := sd.need(col, spec.StreamSecondary)
		if err != nil {
			return nil, err
		}
		c := &timestampColumn{presence: p, secs: newIntDecoder(data, true, v2), nanos: newIntDecoder(nanos, false, v2)}
		if t.Kind == spec.TypeTimestamp && sd.loc != nil && sd.loc != time.UTC {
			c.loc = sd.loc
			c.base = time.Date(2015, 1, 1, 0, 0, 0, 0, sd.loc).Unix()
		} else {
			c.base = spec.TimestampBaseSeconds
		}
		return c, nil
	case spec.TypeDecimal:
		data, err := sd.need(col, spec.StreamData)
		if err != nil {
			return nil, err
		}
		c := &decimalColumn{presence: p, typ: t}
		if sd.decimal64 && t.Precision > 0 && t.Precision <= 18 {
			// DECIMAL64: the unscaled values as RLE v2 integers, the
			// scale the type's. The Java writer labels the column DIRECT
			// but always writes RLE v2 (its statistics match only that
			// reading), so the encoding kind is not consulted.
			c.dec64 = newIntDecoder(data, true, true)
			return c, nil
		}
		scale, err := sd.need(col, spec.StreamSecondary)
		if err != nil {
			return nil, err
		}
		c.data = stream{b: data}
		c.scale = newIntDecoder(scale, true, v2)
		return c, nil
	case spec.TypeStruct:
		c := &structColumn{presence: p}
		for _, ct := range t.Children {
			r, err := newColumnReader(ct, sd, include)
			if err != nil {
				return nil, err
			}
			c.fields = append(c.fields, r)
		}
		return c, nil
	case spec.TypeList, spec.TypeMap:
		lengths, err := sd.need(col, spec.StreamLength)
		if err != nil {
			return nil, err
		}
		c := &listColumn{presence: p, lengths: newIntDecoder(lengths, false, v2), maxElems: sd.maxElems}
		for _, ct := range t.Children {
			r, err := newColumnReader(ct, sd, include)
			if err != nil {
				return nil, err
			}
			c.children = append(c.children, r)
		}
		return c, nil
	case spec.TypeUnion:
		tags, err := sd.need(col, spec.StreamData)
		if err != nil {
			return nil, err
		}
		c := &unionColumn{presence: p}
		c.tags.s.b = tags
		for _, ct := range t.Children {
			r, err := newColumnReader(ct, sd, include)
			if err != nil {
				return nil, err
			}
			c.variants = append(c.variants, r)
		}
		c.masks = make([][]bool, len(c.variants))
		return c, nil
	}
	return nil, fmt.Errorf("%w: column %d has unknown type %v", spec.ErrCorrupt, col, t.Kind)
}

// nullColumn stands for a column the caller did not ask for: all null.
type nullColumn struct{}

func (nullColumn) next(v *Vector, n int, _ []bool) error {
	v.Len = n
	v.Nulls = grow(v.Nulls, n)
	for i := range v.Nulls {
		v.Nulls[i] = true
	}
	for _, c := range v.Children {
		if err := (nullColumn{}).next(c, n, nil); err != nil {
			return err
		}
		if c.Type.Kind == spec.TypeList || c.Type.Kind == spec.TypeMap {
			c.Offsets = grow(c.Offsets, n+1)
		}
	}
	if v.Type.Kind == spec.TypeList || v.Type.Kind == spec.TypeMap {
		v.Offsets = grow(v.Offsets, n+1)
	}
	return nil
}

// byteColumn reads tinyint (byte RLE) and boolean (bit RLE) columns.
type byteColumn struct {
	presence
	boolean bool
	bytes   byteRLE
	bits    boolRLE
}

func (c *byteColumn) next(v *Vector, n int, mask []bool) error {
	if _, err := c.nulls(v, n, mask); err != nil {
		return err
	}
	v.Int = grow(v.Int, n)
	for i := 0; i < n; i++ {
		if v.IsNull(i) {
			continue
		}
		if c.boolean {
			b, err := c.bits.next()
			if err != nil {
				return fmt.Errorf("DATA: %w", err)
			}
			if b {
				v.Int[i] = 1
			}
			continue
		}
		b, err := c.bytes.next()
		if err != nil {
			return fmt.Errorf("DATA: %w", err)
		}
		v.Int[i] = int64(int8(b))
	}
	return nil
}

// intColumn reads smallint, int, bigint and date columns.
type intColumn struct {
	presence
	data intDecoder
	tmp  []int64
}

func (c *intColumn) next(v *Vector, n int, mask []bool) error {
	k, err := c.nulls(v, n, mask)
	if err != nil {
		return err
	}
	v.Int = grow(v.Int, n)
	if v.Nulls == nil {
		if err := c.data.next(v.Int); err != nil {
			return fmt.Errorf("DATA: %w", err)
		}
		return nil
	}
	c.tmp = grow(c.tmp, k)
	if err := c.data.next(c.tmp); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	scatter(v.Int, c.tmp, v.Nulls)
	return nil
}

// scatter spreads the dense values of non-null rows over dst.
func scatter[T any](dst, dense []T, nulls []bool) {
	j := 0
	for i := range dst {
		if !nulls[i] {
			dst[i] = dense[j]
			j++
		}
	}
}

// floatColumn reads IEEE 754 floats and doubles, little endian.
type floatColumn struct {
	presence
	data stream
	size int
}

func (c *floatColumn) next(v *Vector, n int, mask []bool) error {
	if _, err := c.nulls(v, n, mask); err != nil {
		return err
	}
	v.Float = grow(v.Float, n)
	for i := 0; i < n; i++ {
		if v.IsNull(i) {
			continue
		}
		p, err := c.data.bytes(c.size)
		if err != nil {
			return fmt.Errorf("DATA: %w", err)
		}
		if c.size == 4 {
			v.Float[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(p)))
		} else {
			v.Float[i] = math.Float64frombits(binary.LittleEndian.Uint64(p))
		}
	}
	return nil
}

// bytesColumn reads directly encoded string, varchar, char and binary
// columns: lengths in LENGTH, bytes back to back in DATA.
type bytesColumn struct {
	presence
	data    stream
	lengths intDecoder
	tmp     []int64
}

func (c *bytesColumn) next(v *Vector, n int, mask []bool) error {
	k, err := c.nulls(v, n, mask)
	if err != nil {
		return err
	}
	v.Bytes = grow(v.Bytes, n)
	c.tmp = grow(c.tmp, k)
	if err := c.lengths.next(c.tmp); err != nil {
		return fmt.Errorf("LENGTH: %w", err)
	}
	j := 0
	for i := 0; i < n; i++ {
		if v.IsNull(i) {
			continue
		}
		l := c.tmp[j]
		j++
		if l < 0 || l > int64(len(c.data.b)) {
			return fmt.Errorf("%w: value length %d", spec.ErrCorrupt, l)
		}
		p, err := c.data.bytes(int(l))
		if err != nil {
			return fmt.Errorf("DATA: %w", err)
		}
		v.Bytes[i] = p
	}
	return nil
}

// dictColumn reads dictionary encoded string, varchar and char columns.
type dictColumn struct {
	presence
	blob []byte
	// offsets delimit entry i as blob[offsets[i]:offsets[i+1]]; four bytes
	// per entry instead of a 24-byte slice header keeps big dictionaries
	// cheap.
	offsets []uint32
	refs    intDecoder
	tmp     []int64
}

func newDictColumn(p presence, sd *stripeData, col int, enc spec.ColumnEncoding, v2 bool) (*dictColumn, error) {
	data, err := sd.need(col, spec.StreamData)
	if err != nil {
		return nil, err
	}
	lengths, err := sd.need(col, spec.StreamLength)
	if err != nil {
		return nil, err
	}
	blob, err := sd.need(col, spec.StreamDictionaryData)
	if err != nil {
		return nil, err
	}
	// RLE packs up to 512 lengths into 4 bytes, so the LENGTH stream does
	// not bound the dictionary's size; the configured maximum does.
	size := int(enc.DictionarySize)
	if size > sd.maxDict {
		return nil, fmt.Errorf("%w: dictionary of %d entries exceeds the limit of %d", spec.ErrLimit, size, sd.maxDict)
	}
	if len(blob) > math.MaxUint32 {
		return nil, fmt.Errorf("%w: dictionary of %d bytes", spec.ErrLimit, len(blob))
	}
	offsets := make([]uint32, size+1)
	dec := newIntDecoder(lengths, false, v2)
	var chunk [1024]int64
	off := 0
	for i := 0; i < size; i += len(chunk) {
		lens := chunk[:min(len(chunk), size-i)]
		if err := dec.next(lens); err != nil {
			return nil, fmt.Errorf("dictionary LENGTH: %w", err)
		}
		for j, l := range lens {
			if l < 0 {
				return nil, fmt.Errorf("%w: negative dictionary entry length %d", spec.ErrCorrupt, l)
			}
			if l > int64(len(blob)-off) {
				return nil, fmt.Errorf("%w: dictionary entry %d of %d bytes overruns DICTIONARY_DATA", spec.ErrCorrupt, i+j, l)
			}
			off += int(l)
			offsets[i+j+1] = uint32(off)
		}
	}
	return &dictColumn{presence: p, blob: blob, offsets: offsets, refs: newIntDecoder(data, false, v2)}, nil
}

func (c *dictColumn) next(v *Vector, n int, mask []bool) error {
	k, err := c.nulls(v, n, mask)
	if err != nil {
		return err
	}
	v.Bytes = grow(v.Bytes, n)
	c.tmp = grow(c.tmp, k)
	if err := c.refs.next(c.tmp); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	j := 0
	size := int64(len(c.offsets) - 1)
	for i := 0; i < n; i++ {
		if v.IsNull(i) {
			continue
		}
		r := c.tmp[j]
		j++
		if r < 0 || r >= size {
			return fmt.Errorf("%w: dictionary reference %d of %d entries", spec.ErrCorrupt, r, size)
		}
		lo, hi := c.offsets[r], c.offsets[r+1]
		v.Bytes[i] = c.blob[lo:hi:hi]
	}
	return nil
}

// timestampColumn reads timestamps: seconds since 2015-01-01 00:00:00 in the
// writer's time zone (UTC for timestamp with local time zone) in DATA, and
// nanoseconds with their trailing zeros folded in SECONDARY.
type timestampColumn struct {
	presence
	secs, nanos intDecoder
	loc         *time.Location
	base        int64
	ts, tn      []int64
}

// decodeNanos undoes the trailing-zero folding: the low 3 bits count the
// removed zeros minus one.
func decodeNanos(n int64) (int64, error) {
	z := n & 7
	v := int64(uint64(n) >> 3)
	if v >= 1e9 {
		return 0, fmt.Errorf("%w: timestamp nanoseconds %d", spec.ErrCorrupt, v)
	}
	for ; z > 0; z-- {
		v *= 10
		if z == 1 {
			v *= 10
		}
	}
	if v < 0 || v >= 1e9 {
		return 0, fmt.Errorf("%w: timestamp nanoseconds %d", spec.ErrCorrupt, v)
	}
	return v, nil
}

func (c *timestampColumn) next(v *Vector, n int, mask []bool) error {
	k, err := c.nulls(v, n, mask)
	if err != nil {
		return err
	}
	v.Time = grow(v.Time, n)
	c.ts, c.tn = grow(c.ts, k), grow(c.tn, k)
	if err := c.secs.next(c.ts); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := c.nanos.next(c.tn); err != nil {
		return fmt.Errorf("SECONDARY: %w", err)
	}
	j := 0
	for i := 0; i < n; i++ {
		if v.IsNull(i) {
			continue
		}
		nanos, err := decodeNanos(c.tn[j])
		if err != nil {
			return err
		}
		secs := c.ts[j] + c.base
		j++
		// Writers derive seconds by truncating milliseconds toward zero,
		// so before 1970 a value with sub-second digits is one second too
		// late; the nanoseconds are always positive.
		if secs < 0 && nanos > 999999 {
			secs--
		}
		if c.loc == nil {
			v.Time[i] = time.Unix(secs, nanos).UTC()
			continue
		}
		wall := time.Unix(secs, nanos).In(c.loc)
		y, mo, d := wall.Date()
		h, mi, s := wall.Clock()
		v.Time[i] = time.Date(y, mo, d, h, mi, s, int(nanos), time.UTC)
	}
	return nil
}

// decimalColumn reads decimals: unbounded zigzag varints in DATA with a
// per-value scale in SECONDARY, or DECIMAL64 (RLE v2 integers at the type's
// scale).
type decimalColumn struct {
	presence
	typ   *Type
	data  stream
	scale intDecoder
	dec64 intDecoder
	tmp   []int64
	pows  map[int]*big.Int // 10^n by n, so each rescale costs one multiply
}

// maxDecimalScale bounds scales read from a file: 10^scale is computed for
// rescaling, and a hostile scale of 2^60 must not make that take forever.
const maxDecimalScale = 1000

func (c *decimalColumn) next(v *Vector, n int, mask []bool) error {
	k, err := c.nulls(v, n, mask)
	if err != nil {
		return err
	}
	if cap(v.Decimal) < n {
		v.Decimal = make([]Decimal, n)
	}
	v.Decimal = v.Decimal[:n]
	c.tmp = grow(c.tmp, k)
	if c.dec64 != nil {
		if err := c.dec64.next(c.tmp); err != nil {
			return fmt.Errorf("DATA: %w", err)
		}
	} else if err := c.scale.next(c.tmp); err != nil {
		return fmt.Errorf("SECONDARY: %w", err)
	}
	j := 0
	for i := 0; i < n; i++ {
		d := &v.Decimal[i]
		if v.IsNull(i) {
			d.Unscaled.SetInt64(0)
			d.Scale = c.typ.Scale
			continue
		}
		if c.dec64 != nil {
			d.Unscaled.SetInt64(c.tmp[j])
			d.Scale = c.typ.Scale
			j++
			continue
		}
		if err := c.data.bigVarint(&d.Unscaled, 128); err != nil {
			return fmt.Errorf("DATA: %w", err)
		}
		scale := c.tmp[j]
		j++
		if scale < -maxDecimalScale || scale > maxDecimalScale {
			return fmt.Errorf("%w: decimal scale %d", spec.ErrCorrupt, scale)
		}
		d.Scale = int(scale)
		if c.typ.Precision != 0 && d.Scale != c.typ.Scale {
			// Values are presented at the column's scale; extra digits
			// are truncated as Hive does.
			diff := c.typ.Scale - d.Scale
			pow := c.pows[abs(diff)]
			if pow == nil {
				if c.pows == nil {
					c.pows = map[int]*big.Int{}
				}
				pow = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(diff))), nil)
				c.pows[abs(diff)] = pow
			}
			if diff > 0 {
				d.Unscaled.Mul(&d.Unscaled, pow)
			} else {
				d.Unscaled.Quo(&d.Unscaled, pow)
			}
			d.Scale = c.typ.Scale
		}
	}
	return nil
}

// structColumn reads structs: a PRESENT stream and one reader per field.
type structColumn struct {
	presence
	fields []columnReader
}

func (c *structColumn) next(v *Vector, n int, mask []bool) error {
	if _, err := c.nulls(v, n, mask); err != nil {
		return err
	}
	for i, f := range c.fields {
		if err := f.next(v.Children[i], n, v.Nulls); err != nil {
			return fmt.Errorf("field %s: %w", v.Type.FieldNames[i], err)
		}
	}
	return nil
}

// listColumn reads lists and maps: the number of elements per row in LENGTH
// and the elements in the child columns.
type listColumn struct {
	presence
	lengths  intDecoder
	children []columnReader
	maxElems int
	tmp      []int64
}

func (c *listColumn) next(v *Vector, n int, mask []bool) error {
	k, err := c.nulls(v, n, mask)
	if err != nil {
		return err
	}
	c.tmp = grow(c.tmp, k)
	if err := c.lengths.next(c.tmp); err != nil {
		return fmt.Errorf("LENGTH: %w", err)
	}
	v.Offsets = grow(v.Offsets, n+1)
	total, j := 0, 0
	for i := 0; i < n; i++ {
		v.Offsets[i] = total
		if v.IsNull(i) {
			continue
		}
		l := c.tmp[j]
		j++
		if l < 0 || l > int64(c.maxElems-total) {
			return fmt.Errorf("%w: %d elements in one batch exceed the limit of %d", spec.ErrCorrupt, int64(total)+l, c.maxElems)
		}
		total += int(l)
	}
	v.Offsets[n] = total
	for i, ch := range c.children {
		if err := ch.next(v.Children[i], total, nil); err != nil {
			return err
		}
	}
	return nil
}

// unionColumn reads unions: the variant of each row in DATA (byte RLE) and
// one child per variant holding only the rows of that variant.
type unionColumn struct {
	presence
	tags     byteRLE
	variants []columnReader
	masks    [][]bool
}

func (c *unionColumn) next(v *Vector, n int, mask []bool) error {
	if _, err := c.nulls(v, n, mask); err != nil {
		return err
	}
	v.Tags = grow(v.Tags, n)
	for j := range c.masks {
		c.masks[j] = grow(c.masks[j], n)
	}
	for i := 0; i < n; i++ {
		if v.IsNull(i) {
			for j := range c.masks {
				c.masks[j][i] = true
			}
			continue
		}
		tag, err := c.tags.next()
		if err != nil {
			return fmt.Errorf("DATA: %w", err)
		}
		if int(tag) >= len(c.variants) {
			return fmt.Errorf("%w: union tag %d of %d variants", spec.ErrCorrupt, tag, len(c.variants))
		}
		v.Tags[i] = tag
		for j := range c.masks {
			c.masks[j][i] = j != int(tag)
		}
	}
	for j, r := range c.variants {
		if err := r.next(v.Children[j], n, c.masks[j]); err != nil {
			return fmt.Errorf("variant %d: %w", j, err)
		}
	}
	return nil
}
