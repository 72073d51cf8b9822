package orc

import (
	"bytes"
	"math"
	"unicode/utf8"

	"github.com/landfall/landfall/writer/orc/spec"
)

// stats accumulates one column's statistics over a row group, a stripe or
// the file; merge folds a finer level into a coarser one.
type stats struct {
	kind    spec.TypeKind
	scale   int
	count   uint64 // non-null values
	hasNull bool
	any     bool // min/max are set

	imin, imax int64 // integers, dates, collection child counts
	isum       int64
	sumBad     bool // integer or decimal sum overflowed

	dmin, dmax, dsum float64

	smin, smax []byte // strings: owned copies
	total      int64  // string and binary byte length sum, collection children

	trues uint64

	decMin, decMax, decSum int128

	// timestamps: seconds and nanoseconds since the Unix epoch
	tminS, tmaxS int64
	tminN, tmaxN uint32

	bytesOnDisk uint64 // the column's stream bytes (stripe and file level)
}

func (s *stats) init(t *Type) {
	*s = stats{kind: t.Kind, scale: t.Scale, smin: s.smin[:0], smax: s.smax[:0]}
}

func (s *stats) addInt(v int64) {
	s.count++
	if !s.any {
		s.imin, s.imax, s.any = v, v, true
	} else {
		s.imin = min(s.imin, v)
		s.imax = max(s.imax, v)
	}
	if !s.sumBad {
		sum := s.isum + v
		if (v > 0 && sum < s.isum) || (v < 0 && sum > s.isum) {
			s.sumBad = true
		}
		s.isum = sum
	}
}

func (s *stats) addFloat(v float64) {
	s.count++
	if math.IsNaN(v) {
		s.dsum += v
		return
	}
	if !s.any {
		s.dmin, s.dmax, s.any = v, v, true
	} else {
		s.dmin = math.Min(s.dmin, v)
		s.dmax = math.Max(s.dmax, v)
	}
	s.dsum += v
}

func (s *stats) addString(b []byte) {
	s.count++
	s.total += int64(len(b))
	if !s.any {
		s.smin = append(s.smin[:0], b...)
		s.smax = append(s.smax[:0], b...)
		s.any = true
		return
	}
	if bytes.Compare(b, s.smin) < 0 {
		s.smin = append(s.smin[:0], b...)
	} else if bytes.Compare(b, s.smax) > 0 {
		s.smax = append(s.smax[:0], b...)
	}
}

func (s *stats) addBinary(n int) {
	s.count++
	s.total += int64(n)
}

func (s *stats) addBool(v bool) {
	s.count++
	if v {
		s.trues++
	}
}

func (s *stats) addDecimal(v int128) {
	s.count++
	if !s.any {
		s.decMin, s.decMax, s.any = v, v, true
	} else {
		if v.cmp(s.decMin) < 0 {
			s.decMin = v
		}
		if v.cmp(s.decMax) > 0 {
			s.decMax = v
		}
	}
	if !s.sumBad {
		var of bool
		s.decSum, of = s.decSum.add(v)
		// Hive decimals hold 38 digits; a sum beyond that is not recorded.
		if of || digitCount(abs128(s.decSum)) > maxDecimalPrecision {
			s.sumBad = true
		}
	}
}

func abs128(v int128) int128 {
	if v.hi < 0 {
		return v.neg()
	}
	return v
}

func tsLess(as int64, an uint32, bs int64, bn uint32) bool {
	return as < bs || as == bs && an < bn
}

func (s *stats) addTimestamp(secs int64, nanos uint32) {
	s.count++
	if !s.any {
		s.tminS, s.tminN, s.tmaxS, s.tmaxN, s.any = secs, nanos, secs, nanos, true
		return
	}
	if tsLess(secs, nanos, s.tminS, s.tminN) {
		s.tminS, s.tminN = secs, nanos
	}
	if tsLess(s.tmaxS, s.tmaxN, secs, nanos) {
		s.tmaxS, s.tmaxN = secs, nanos
	}
}

// addCollection records one list or map with n children.
func (s *stats) addCollection(n int64) {
	s.count++
	s.total += n
	if !s.any {
		s.imin, s.imax, s.any = n, n, true
	} else {
		s.imin = min(s.imin, n)
		s.imax = max(s.imax, n)
	}
}

func (s *stats) merge(o *stats) {
	s.bytesOnDisk += o.bytesOnDisk
	s.hasNull = s.hasNull || o.hasNull
	s.trues += o.trues
	s.total += o.total
	if !o.any {
		s.count += o.count
		return
	}
	first := !s.any
	s.any = true
	switch s.kind {
	case spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong, spec.TypeDate,
		spec.TypeList, spec.TypeMap:
		if first {
			s.imin, s.imax = o.imin, o.imax
		} else {
			s.imin, s.imax = min(s.imin, o.imin), max(s.imax, o.imax)
		}
		if o.sumBad {
			s.sumBad = true
		} else if !s.sumBad {
			sum := s.isum + o.isum
			if (o.isum > 0 && sum < s.isum) || (o.isum < 0 && sum > s.isum) {
				s.sumBad = true
			}
			s.isum = sum
		}
	case spec.TypeFloat, spec.TypeDouble:
		if first {
			s.dmin, s.dmax = o.dmin, o.dmax
		} else {
			s.dmin, s.dmax = math.Min(s.dmin, o.dmin), math.Max(s.dmax, o.dmax)
		}
		s.dsum += o.dsum
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		if first || bytes.Compare(o.smin, s.smin) < 0 {
			s.smin = append(s.smin[:0], o.smin...)
		}
		if first || bytes.Compare(o.smax, s.smax) > 0 {
			s.smax = append(s.smax[:0], o.smax...)
		}
	case spec.TypeDecimal:
		if first || o.decMin.cmp(s.decMin) < 0 {
			s.decMin = o.decMin
		}
		if first || o.decMax.cmp(s.decMax) > 0 {
			s.decMax = o.decMax
		}
		if o.sumBad {
			s.sumBad = true
		} else if !s.sumBad {
			var of bool
			s.decSum, of = s.decSum.add(o.decSum)
			if of || digitCount(abs128(s.decSum)) > maxDecimalPrecision {
				s.sumBad = true
			}
		}
	case spec.TypeTimestamp:
		if first || tsLess(o.tminS, o.tminN, s.tminS, s.tminN) {
			s.tminS, s.tminN = o.tminS, o.tminN
		}
		if first || tsLess(s.tmaxS, s.tmaxN, o.tmaxS, o.tmaxN) {
			s.tmaxS, s.tmaxN = o.tmaxS, o.tmaxN
		}
	}
	s.count += o.count
}

// maxStatString is the longest string min or max written as is; longer
// ones are written as lower and upper bounds, like Apache ORC (ORC-203).
const maxStatString = 1024

func (s *stats) proto() spec.ColumnStatistics {
	cs := spec.ColumnStatistics{
		NumberOfValues: spec.Ptr(s.count),
		HasNull:        spec.Ptr(s.hasNull),
	}
	if s.bytesOnDisk > 0 {
		cs.BytesOnDisk = spec.Ptr(s.bytesOnDisk)
	}
	switch s.kind {
	case spec.TypeBoolean:
		cs.Bucket = &spec.BucketStatistics{Count: []uint64{s.trues}}
	case spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong:
		is := &spec.IntegerStatistics{}
		if s.any {
			is.Minimum, is.Maximum = spec.Ptr(s.imin), spec.Ptr(s.imax)
			if !s.sumBad {
				is.Sum = spec.Ptr(s.isum)
			}
		}
		cs.Int = is
	case spec.TypeFloat, spec.TypeDouble:
		ds := &spec.DoubleStatistics{}
		if s.any {
			ds.Minimum, ds.Maximum = spec.Ptr(s.dmin), spec.Ptr(s.dmax)
		}
		if !math.IsInf(s.dsum, 0) && !math.IsNaN(s.dsum) {
			ds.Sum = spec.Ptr(s.dsum)
		}
		cs.Double = ds
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		ss := &spec.StringStatistics{Sum: spec.Ptr(s.total)}
		if s.any {
			if len(s.smin) <= maxStatString {
				ss.Minimum = spec.Ptr(string(s.smin))
			} else {
				ss.LowerBound = spec.Ptr(string(truncateUTF8(s.smin, maxStatString)))
			}
			if len(s.smax) <= maxStatString {
				ss.Maximum = spec.Ptr(string(s.smax))
			} else if ub, ok := upperBound(s.smax, maxStatString); ok {
				ss.UpperBound = spec.Ptr(string(ub))
			}
		}
		cs.String = ss
	case spec.TypeBinary:
		cs.Binary = &spec.BinaryStatistics{Sum: spec.Ptr(s.total)}
	case spec.TypeDecimal:
		ds := &spec.DecimalStatistics{}
		if s.any {
			ds.Minimum = spec.Ptr(decimalString(s.decMin, s.scale))
			ds.Maximum = spec.Ptr(decimalString(s.decMax, s.scale))
			if !s.sumBad {
				ds.Sum = spec.Ptr(decimalString(s.decSum, s.scale))
			}
		}
		cs.Decimal = ds
	case spec.TypeDate:
		ds := &spec.DateStatistics{}
		if s.any {
			ds.Minimum, ds.Maximum = spec.Ptr(int32(s.imin)), spec.Ptr(int32(s.imax))
		}
		cs.Date = ds
	case spec.TypeTimestamp:
		ts := &spec.TimestampStatistics{}
		if s.any {
			// Milliseconds (floored), and the nanoseconds within the
			// millisecond plus one so that zero means "not recorded".
			minMs := s.tminS*1000 + int64(s.tminN/1e6)
			maxMs := s.tmaxS*1000 + int64(s.tmaxN/1e6)
			ts.MinimumUTC, ts.MaximumUTC = spec.Ptr(minMs), spec.Ptr(maxMs)
			if n := s.tminN % 1e6; n != 0 {
				ts.MinimumNanos = spec.Ptr(int32(n) + 1)
			}
			if n := s.tmaxN % 1e6; n != 0 {
				ts.MaximumNanos = spec.Ptr(int32(n) + 1)
			}
		}
		cs.Timestamp = ts
	case spec.TypeList, spec.TypeMap:
		col := &spec.CollectionStatistics{TotalChildren: spec.Ptr(uint64(s.total))}
		if s.any {
			col.MinChildren, col.MaxChildren = spec.Ptr(uint64(s.imin)), spec.Ptr(uint64(s.imax))
		}
		cs.Collection = col
	}
	return cs
}

func truncateUTF8(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}

// upperBound is a string of at most n bytes that sorts after b: b cut to n
// bytes with its last character incremented.
func upperBound(b []byte, n int) ([]byte, bool) {
	t := truncateUTF8(b, n)
	for len(t) > 0 {
		r, size := utf8.DecodeLastRune(t)
		prefix := t[:len(t)-size]
		next := r + 1
		if next == 0xD800 {
			next = 0xE000 // skip surrogates
		}
		if r != utf8.RuneError && next <= utf8.MaxRune {
			out := append([]byte(nil), prefix...)
			out = utf8.AppendRune(out, next)
			if len(out) <= n {
				return out, true
			}
		}
		t = prefix
	}
	return nil, false
}
