package orc

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"unsafe"

	"github.com/landfall/landfall/writer/orc/spec"
)

// stripeEncoder turns the columns' buffers into the streams, row index and
// statistics of one stripe. Its buffers are reused from stripe to stripe.
type stripeEncoder struct {
	streams []*outStream
	used    int

	index     []spec.RowIndex
	bloomIdx  []spec.BloomFilterIndex
	encodings []spec.ColumnEncoding
	colStats  []stats
	rgStats   stats

	present  boolRLE
	boolData boolRLE
	byteData byteRLE
	ints     [2]intRLEv2

	order []uint32 // dictionary ids in sorted order
	rank  []uint32 // sorted position of each dictionary id
	blob  []byte   // serialized index or footer
	bloom bloomFilter
}

// heldBytes is what the encoder holds: its buffers kept for the next
// stripe and its own 34 KiB of RLE scratch.
func (e *stripeEncoder) heldBytes() int {
	if e == nil {
		return 0
	}
	n := int(unsafe.Sizeof(*e))
	for _, s := range e.streams {
		n += cap(s.buf) + cap(s.out)
	}
	return n + 4*cap(e.order) + 4*cap(e.rank) + cap(e.blob)
}

func (e *stripeEncoder) stream(w *Writer, kind spec.StreamKind, col int) *outStream {
	if e.used == len(e.streams) {
		e.streams = append(e.streams, &outStream{})
	}
	s := e.streams[e.used]
	e.used++
	s.reset(kind, uint32(col), w.comp, w.o.blockSize)
	return s
}

// flushStripe encodes and writes the buffered rows as one stripe. release
// drops the buffers afterwards (on Close, or when the memory budget forced
// the flush) instead of keeping them for the next stripe.
func (w *Writer) flushStripe(release bool) error {
	w.heldStale = true
	if w.err != nil {
		return w.err
	}
	if w.stripeRows == 0 {
		if release {
			w.releaseBuffers()
		}
		return nil
	}
	if w.offset == 0 {
		if err := w.write([]byte(spec.Magic)); err != nil {
			return err
		}
	}
	comp, err := w.pool.get()
	if err != nil {
		return w.fail("flush stripe", err)
	}
	w.comp = comp
	defer func() {
		w.pool.put(w.comp)
		w.comp = nil
	}()
	if w.enc == nil {
		w.enc = new(stripeEncoder)
	}
	e := w.enc
	n := len(w.cols)
	e.used = 0
	e.index = slices.Grow(e.index[:0], n)[:n]
	e.bloomIdx = slices.Grow(e.bloomIdx[:0], n)[:n]
	e.encodings = slices.Grow(e.encodings[:0], n)[:n]
	e.colStats = slices.Grow(e.colStats[:0], n)[:n]
	groups := len(w.root.rg)
	if w.rgRows > 0 {
		groups++
	}
	for _, c := range w.cols {
		if err := e.encodeColumn(w, c, groups); err != nil {
			return w.fail("encode stripe", err)
		}
	}

	for _, s := range e.streams[:e.used] {
		if err := s.finish(); err != nil {
			return w.fail("compress stream", err)
		}
		e.colStats[s.column].bytesOnDisk += uint64(len(s.out))
	}

	// Index section: a ROW_INDEX per column, then bloom filters.
	start := w.offset
	var footer spec.StripeFooter
	for i := range w.cols {
		if e.blob, err = compressBlob(e.blob[:0], w.comp, e.index[i].AppendTo(nil)); err != nil {
			return w.fail("compress row index", err)
		}
		if err := w.write(e.blob); err != nil {
			return err
		}
		footer.Streams = append(footer.Streams, spec.Stream{Kind: spec.StreamRowIndex, Column: uint32(i), Length: uint64(len(e.blob))})
		if w.bloom[i] {
			if e.blob, err = compressBlob(e.blob[:0], w.comp, e.bloomIdx[i].AppendTo(nil)); err != nil {
				return w.fail("compress bloom filter", err)
			}
			if err := w.write(e.blob); err != nil {
				return err
			}
			footer.Streams = append(footer.Streams, spec.Stream{Kind: spec.StreamBloomFilterUTF8, Column: uint32(i), Length: uint64(len(e.blob))})
		}
	}
	indexLen := w.offset - start
	for _, s := range e.streams[:e.used] {
		if err := w.write(s.out); err != nil {
			return err
		}
		footer.Streams = append(footer.Streams, spec.Stream{Kind: s.kind, Column: s.column, Length: uint64(len(s.out))})
	}
	dataLen := w.offset - start - indexLen
	footer.Columns = e.encodings
	footer.WriterTimezone = "UTC"
	if e.blob, err = compressBlob(e.blob[:0], w.comp, footer.AppendTo(nil)); err != nil {
		return w.fail("compress stripe footer", err)
	}
	if err := w.write(e.blob); err != nil {
		return err
	}
	w.stripes = append(w.stripes, spec.StripeInformation{
		Offset: start, IndexLength: indexLen, DataLength: dataLen,
		FooterLength: uint64(len(e.blob)), NumberOfRows: uint64(w.stripeRows),
	})
	ss := spec.StripeStatistics{ColStats: make([]spec.ColumnStatistics, n)}
	for i := range w.cols {
		ss.ColStats[i] = e.colStats[i].proto()
		w.fileStats[i].merge(&e.colStats[i])
	}
	w.stripeStats = append(w.stripeStats, ss)

	for _, c := range w.cols {
		c.reset(release)
	}
	if release {
		w.releaseBuffers()
	}
	w.stripeRows, w.rgRows = 0, 0
	return nil
}

func (w *Writer) releaseBuffers() {
	w.heldStale = true
	for _, c := range w.cols {
		c.reset(true)
	}
	w.enc = nil
}

// kinds of column encoders; each handles one row group's values at a time.
type valueEncoder interface {
	position(pos []uint64) []uint64
	encode(c *column, from, to int, st *stats)
	finish(c *column) error
}

func (e *stripeEncoder) encodeColumn(w *Writer, c *column, groups int) error {
	hasNulls := c.nulls > 0
	if hasNulls {
		e.present.reset(e.stream(w, spec.StreamPresent, c.id))
	}
	st := &e.colStats[c.id]
	st.init(c.t)
	ve, enc := e.valueEncoder(w, c)
	e.encodings[c.id] = spec.ColumnEncoding{Kind: enc}
	if enc == spec.EncodingDictionaryV2 {
		e.encodings[c.id].DictionarySize = uint32(c.str.distinct())
	}
	bloom := w.bloom[c.id]
	if bloom {
		e.bloomIdx[c.id].BloomFilter = e.bloomIdx[c.id].BloomFilter[:0]
		// 1: ORC-135, timestamps hashed as UTC milliseconds. Readers drop
		// timestamp bloom filters without it.
		e.encodings[c.id].BloomEncoding = 1
	}
	entries := e.index[c.id].Entry[:0]
	slot, vi := 0, 0
	for g := 0; g < groups; g++ {
		end := len(c.present)
		if g < groups-1 {
			end = c.rg[g]
		}
		var pos []uint64
		if hasNulls {
			pos = e.present.position(pos)
		}
		if ve != nil {
			pos = ve.position(pos)
		}
		rs := &e.rgStats
		rs.init(c.t)
		n := 0
		if hasNulls {
			for _, p := range c.present[slot:end] {
				e.present.add(p)
				if p {
					n++
				}
			}
			rs.hasNull = n < end-slot
		} else {
			n = end - slot
		}
		slot = end
		if ve != nil {
			ve.encode(c, vi, vi+n, rs)
		} else {
			rs.count += uint64(n)
		}
		if bloom {
			// Sized for a full row group like Apache ORC's; the reader takes
			// the size from the bit set.
			e.bloom.reset(w.o.rowIndexStride, w.o.bloomFPP)
			e.bloom.addValues(c, vi, vi+n)
			e.bloomIdx[c.id].BloomFilter = append(e.bloomIdx[c.id].BloomFilter, e.bloom.proto())
		}
		vi += n
		ps := rs.proto()
		entries = append(entries, spec.RowIndexEntry{Positions: pos, Statistics: &ps})
		st.merge(rs)
	}
	e.index[c.id].Entry = entries
	if hasNulls {
		e.present.flush()
	}
	if ve != nil {
		return ve.finish(c)
	}
	return nil
}

func (e *stripeEncoder) valueEncoder(w *Writer, c *column) (valueEncoder, spec.EncodingKind) {
	switch c.t.Kind {
	case spec.TypeStruct:
		return nil, spec.EncodingDirect
	case spec.TypeBoolean:
		e.boolData.reset(e.stream(w, spec.StreamData, c.id))
		return (*boolEncoder)(e), spec.EncodingDirect
	case spec.TypeByte:
		e.byteData.reset(e.stream(w, spec.StreamData, c.id))
		return (*byteEncoder)(e), spec.EncodingDirect
	case spec.TypeShort, spec.TypeInt, spec.TypeLong, spec.TypeDate:
		e.ints[0].reset(e.stream(w, spec.StreamData, c.id), true)
		return (*intEncoder)(e), spec.EncodingDirectV2
	case spec.TypeFloat, spec.TypeDouble:
		return &floatEncoder{out: e.stream(w, spec.StreamData, c.id), double: c.t.Kind == spec.TypeDouble}, spec.EncodingDirect
	case spec.TypeList, spec.TypeMap:
		e.ints[0].reset(e.stream(w, spec.StreamLength, c.id), false)
		return (*lengthEncoder)(e), spec.EncodingDirectV2
	case spec.TypeTimestamp:
		e.ints[0].reset(e.stream(w, spec.StreamData, c.id), true)
		e.ints[1].reset(e.stream(w, spec.StreamSecondary, c.id), false)
		return (*timestampEncoder)(e), spec.EncodingDirectV2
	case spec.TypeDecimal:
		d := &decimalEncoder{e: e, out: e.stream(w, spec.StreamData, c.id)}
		e.ints[1].reset(e.stream(w, spec.StreamSecondary, c.id), true)
		return d, spec.EncodingDirectV2
	}
	// strings, char, varchar, binary
	if c.str.useDictionary() {
		e.sortDictionary(&c.str)
		e.ints[0].reset(e.stream(w, spec.StreamData, c.id), false)
		e.ints[1].reset(e.stream(w, spec.StreamLength, c.id), false)
		d := &dictEncoder{e: e, dict: e.stream(w, spec.StreamDictionaryData, c.id)}
		return d, spec.EncodingDictionaryV2
	}
	c.str.toDirect()
	d := &directEncoder{e: e, data: e.stream(w, spec.StreamData, c.id), binary: c.t.Kind == spec.TypeBinary}
	e.ints[0].reset(e.stream(w, spec.StreamLength, c.id), false)
	return d, spec.EncodingDirectV2
}

func (e *stripeEncoder) sortDictionary(s *strCol) {
	d := s.distinct()
	e.order = slices.Grow(e.order[:0], d)[:d]
	for i := range e.order {
		e.order[i] = uint32(i)
	}
	slices.SortFunc(e.order, func(a, b uint32) int { return bytes.Compare(s.value(a), s.value(b)) })
	e.rank = slices.Grow(e.rank[:0], d)[:d]
	for i, id := range e.order {
		e.rank[id] = uint32(i)
	}
}

type boolEncoder stripeEncoder

func (e *boolEncoder) position(pos []uint64) []uint64 { return e.boolData.position(pos) }
func (e *boolEncoder) encode(c *column, from, to int, st *stats) {
	for _, v := range c.ints[from:to] {
		e.boolData.add(v != 0)
		st.addBool(v != 0)
	}
}
func (e *boolEncoder) finish(*column) error { e.boolData.flush(); return nil }

type byteEncoder stripeEncoder

func (e *byteEncoder) position(pos []uint64) []uint64 { return e.byteData.position(pos) }
func (e *byteEncoder) encode(c *column, from, to int, st *stats) {
	for _, v := range c.ints[from:to] {
		e.byteData.add(byte(v))
		st.addInt(v)
	}
}
func (e *byteEncoder) finish(*column) error { e.byteData.flush(); return nil }

type intEncoder stripeEncoder

func (e *intEncoder) position(pos []uint64) []uint64 { return e.ints[0].position(pos) }
func (e *intEncoder) encode(c *column, from, to int, st *stats) {
	for _, v := range c.ints[from:to] {
		e.ints[0].add(v)
		st.addInt(v)
	}
}
func (e *intEncoder) finish(*column) error { e.ints[0].flush(); return nil }

type lengthEncoder stripeEncoder

func (e *lengthEncoder) position(pos []uint64) []uint64 { return e.ints[0].position(pos) }
func (e *lengthEncoder) encode(c *column, from, to int, st *stats) {
	for _, v := range c.ints[from:to] {
		e.ints[0].add(v)
		st.addCollection(v)
	}
}
func (e *lengthEncoder) finish(*column) error { e.ints[0].flush(); return nil }

type floatEncoder struct {
	out    *outStream
	double bool
	buf    [8]byte
}

func (f *floatEncoder) position(pos []uint64) []uint64 { return f.out.position(pos) }
func (f *floatEncoder) encode(c *column, from, to int, st *stats) {
	for _, v := range c.floats[from:to] {
		if f.double {
			binary.LittleEndian.PutUint64(f.buf[:], math.Float64bits(v))
			f.out.write(f.buf[:8])
		} else {
			binary.LittleEndian.PutUint32(f.buf[:], math.Float32bits(float32(v)))
			f.out.write(f.buf[:4])
		}
		st.addFloat(v)
	}
}
func (f *floatEncoder) finish(*column) error { return nil }

type timestampEncoder stripeEncoder

func (e *timestampEncoder) position(pos []uint64) []uint64 {
	return e.ints[1].position(e.ints[0].position(pos))
}

func (e *timestampEncoder) encode(c *column, from, to int, st *stats) {
	for i := from; i < to; i++ {
		secs, nanos := c.ints[i], c.nanos[i]
		st.addTimestamp(secs, nanos)
		// Readers undo the Java writer's truncating division of negative
		// milliseconds: for a time before 1970 with at least a millisecond
		// of fraction they subtract one second. Write what they expect.
		if secs < 0 && nanos > 999999 {
			secs++
		}
		e.ints[0].add(secs - spec.TimestampBaseSeconds)
		e.ints[1].add(int64(encodeNanos(nanos)))
	}
}

func (e *timestampEncoder) finish(*column) error {
	e.ints[0].flush()
	e.ints[1].flush()
	return nil
}

// encodeNanos drops trailing decimal zeros of the nanoseconds and keeps
// their count (less one) in the low three bits, as the spec describes.
func encodeNanos(n uint32) uint64 {
	if n == 0 {
		return 0
	}
	if n%100 != 0 {
		return uint64(n) << 3
	}
	n /= 100
	z := uint64(1)
	for n%10 == 0 && z < 7 {
		n /= 10
		z++
	}
	return uint64(n)<<3 | z
}

type decimalEncoder struct {
	e   *stripeEncoder
	out *outStream
	buf []byte
}

func (d *decimalEncoder) position(pos []uint64) []uint64 {
	return d.e.ints[1].position(d.out.position(pos))
}

func (d *decimalEncoder) encode(c *column, from, to int, st *stats) {
	scale := int64(c.t.Scale)
	for _, v := range c.decs[from:to] {
		d.buf = appendVarint128(d.buf[:0], v)
		d.out.write(d.buf)
		d.e.ints[1].add(scale)
		st.addDecimal(v)
	}
}

func (d *decimalEncoder) finish(*column) error { d.e.ints[1].flush(); return nil }

// appendVarint128 writes the zigzag encoding of a 128-bit value as a base
// 128 varint of unbounded length.
func appendVarint128(b []byte, v int128) []byte {
	// zigzag: (v << 1) ^ (v >> 127)
	sign := uint64(v.hi >> 63)
	hi := (uint64(v.hi)<<1 | v.lo>>63) ^ sign
	lo := (v.lo << 1) ^ sign
	for hi != 0 || lo >= 0x80 {
		b = append(b, byte(lo)|0x80)
		lo = lo>>7 | hi<<57
		hi >>= 7
	}
	return append(b, byte(lo))
}

type dictEncoder struct {
	e    *stripeEncoder
	dict *outStream
}

func (d *dictEncoder) position(pos []uint64) []uint64 { return d.e.ints[0].position(pos) }

func (d *dictEncoder) encode(c *column, from, to int, st *stats) {
	if from == to {
		return
	}
	s := &c.str
	rank := d.e.rank
	lo, hi := uint32(math.MaxUint32), uint32(0)
	var total int64
	for _, id := range s.ids[from:to] {
		r := rank[id]
		d.e.ints[0].add(int64(r))
		lo, hi = min(lo, r), max(hi, r)
		total += int64(s.offs[id+1] - s.offs[id])
	}
	// The dictionary is sorted, so the row group's min and max are the
	// values of its lowest and highest rank.
	st.count += uint64(to - from)
	st.total += total
	st.any = true
	st.smin = append(st.smin[:0], s.value(d.e.order[lo])...)
	st.smax = append(st.smax[:0], s.value(d.e.order[hi])...)
}

func (d *dictEncoder) finish(c *column) error {
	d.e.ints[0].flush()
	s := &c.str
	for _, id := range d.e.order {
		v := s.value(id)
		d.dict.write(v)
		d.e.ints[1].add(int64(len(v)))
	}
	d.e.ints[1].flush()
	return nil
}

type directEncoder struct {
	e      *stripeEncoder
	data   *outStream
	binary bool
}

func (d *directEncoder) position(pos []uint64) []uint64 {
	return d.e.ints[0].position(d.data.position(pos))
}

func (d *directEncoder) encode(c *column, from, to int, st *stats) {
	s := &c.str
	for i := from; i < to; i++ {
		v := s.directValue(i)
		d.data.write(v)
		d.e.ints[0].add(int64(len(v)))
		if d.binary {
			st.addBinary(len(v))
		} else {
			st.addString(v)
		}
	}
}

func (d *directEncoder) finish(*column) error { d.e.ints[0].flush(); return nil }
