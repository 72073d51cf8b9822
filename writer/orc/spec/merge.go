package spec

import (
	"math"
	"math/big"
	"strings"
)

// MergeStatistics combines the statistics of disjoint parts of one column of
// type t (stripes of one file, or files being concatenated) into the
// statistics of their union, the way a writer that saw every value would
// have recorded them: counts and sums add, minimums and maximums fold, and
// hasNull is true if any part had a null.
//
// Only what the parts prove is kept. A field that some part with values
// leaves out (a sum that overflowed, a minimum an old writer didn't write)
// is left out of the result, because predicate pushdown trusts a minimum it
// finds, and a sum that overflows while adding is dropped as a writer
// drops it. Double sums are added part by part, so they can differ in the
// last bits from a sum taken value by value. BytesOnDisk adds up only if
// every part has it. Unknown fields are dropped: their meaning is unknown,
// so they can't be merged.
func MergeStatistics(t *Type, parts []ColumnStatistics) ColumnStatistics {
	var out ColumnStatistics
	out.NumberOfValues = sumUint(parts, func(p *ColumnStatistics) *uint64 { return p.NumberOfValues })
	out.BytesOnDisk = sumUint(parts, func(p *ColumnStatistics) *uint64 { return p.BytesOnDisk })
	out.HasNull = mergeHasNull(parts)
	var vals []*ColumnStatistics // the parts that hold values
	for i := range parts {
		if p := &parts[i]; p.NumberOfValues == nil || *p.NumberOfValues > 0 {
			vals = append(vals, p)
		}
	}
	switch t.Kind {
	case TypeByte, TypeShort, TypeInt, TypeLong:
		if anyPart(parts, func(p *ColumnStatistics) bool { return p.Int != nil }) {
			out.Int = mergeInt(vals)
		}
	case TypeFloat, TypeDouble:
		if anyPart(parts, func(p *ColumnStatistics) bool { return p.Double != nil }) {
			out.Double = mergeDouble(vals)
		}
	case TypeString, TypeVarchar, TypeChar:
		if anyPart(parts, func(p *ColumnStatistics) bool { return p.String != nil }) {
			out.String = mergeString(parts, vals)
		}
	case TypeBoolean:
		if anyPart(parts, func(p *ColumnStatistics) bool { return p.Bucket != nil }) {
			out.Bucket = mergeBucket(parts, vals)
		}
	case TypeDecimal:
		if anyPart(parts, func(p *ColumnStatistics) bool { return p.Decimal != nil }) {
			out.Decimal = mergeDecimal(vals, int(t.Scale))
		}
	case TypeDate:
		if anyPart(parts, func(p *ColumnStatistics) bool { return p.Date != nil }) {
			out.Date = mergeDate(vals)
		}
	case TypeTimestamp, TypeTimestampInstant:
		if anyPart(parts, func(p *ColumnStatistics) bool { return p.Timestamp != nil }) {
			out.Timestamp = mergeTimestamp(vals)
		}
	case TypeBinary:
		if anyPart(parts, func(p *ColumnStatistics) bool { return p.Binary != nil }) {
			out.Binary = &BinaryStatistics{Sum: sumInt(parts, func(p *ColumnStatistics) *int64 {
				if p.Binary == nil {
					return nil
				}
				return p.Binary.Sum
			})}
		}
	case TypeList, TypeMap:
		if anyPart(parts, func(p *ColumnStatistics) bool { return p.Collection != nil }) {
			out.Collection = mergeCollection(parts, vals)
		}
	}
	return out
}

func anyPart(parts []ColumnStatistics, f func(*ColumnStatistics) bool) bool {
	for i := range parts {
		if f(&parts[i]) {
			return true
		}
	}
	return false
}

// sumUint adds a field every part has; nil if one lacks it.
func sumUint(parts []ColumnStatistics, f func(*ColumnStatistics) *uint64) *uint64 {
	var s uint64
	for i := range parts {
		v := f(&parts[i])
		if v == nil || s+*v < s {
			return nil
		}
		s += *v
	}
	return &s
}

// sumInt adds a signed field every part has; nil if one lacks it or the sum
// overflows int64.
func sumInt(parts []ColumnStatistics, f func(*ColumnStatistics) *int64) *int64 {
	var s int64
	for i := range parts {
		v := f(&parts[i])
		if v == nil {
			return nil
		}
		var ok bool
		if s, ok = addInt64(s, *v); !ok {
			return nil
		}
	}
	return &s
}

func addInt64(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return s, false
	}
	return s, true
}

func mergeHasNull(parts []ColumnStatistics) *bool {
	known := true
	for i := range parts {
		switch h := parts[i].HasNull; {
		case h == nil:
			known = false
		case *h:
			return Ptr(true)
		}
	}
	if !known {
		return nil
	}
	return Ptr(false)
}

func mergeInt(vals []*ColumnStatistics) *IntegerStatistics {
	out := &IntegerStatistics{}
	if len(vals) == 0 {
		return out
	}
	var lo, hi, sum int64
	mm, sumOK := true, true
	for i, p := range vals {
		s := p.Int
		if s == nil || s.Minimum == nil || s.Maximum == nil {
			mm = false
		} else if i == 0 {
			lo, hi = *s.Minimum, *s.Maximum
		} else {
			lo, hi = min(lo, *s.Minimum), max(hi, *s.Maximum)
		}
		if s == nil || s.Sum == nil {
			sumOK = false
		} else if sumOK {
			sum, sumOK = addInt64(sum, *s.Sum)
		}
	}
	if mm {
		out.Minimum, out.Maximum = Ptr(lo), Ptr(hi)
	}
	if sumOK {
		out.Sum = Ptr(sum)
	}
	return out
}

// mergeDouble follows the writers' rule that a part with values and no
// minimum holds only NaNs, which min/max ignore and which make the sum NaN
// (left out).
func mergeDouble(vals []*ColumnStatistics) *DoubleStatistics {
	out := &DoubleStatistics{}
	var lo, hi, sum float64
	any, sumOK := false, true
	for _, p := range vals {
		s := p.Double
		if s == nil {
			return &DoubleStatistics{}
		}
		if s.Minimum != nil && s.Maximum != nil {
			if !any {
				lo, hi, any = *s.Minimum, *s.Maximum, true
			} else {
				lo, hi = math.Min(lo, *s.Minimum), math.Max(hi, *s.Maximum)
			}
		}
		if s.Sum == nil {
			sumOK = false
		} else {
			sum += *s.Sum
		}
	}
	if any {
		out.Minimum, out.Maximum = Ptr(lo), Ptr(hi)
	}
	if sumOK && !math.IsInf(sum, 0) && !math.IsNaN(sum) {
		out.Sum = Ptr(sum)
	}
	return out
}

// mergeString folds exact minimums and truncated lower bounds (ORC-203)
// together: the smallest candidate wins, and it is exact only if it came
// from an exact minimum (on a tie the exact one wins, since the bound's true
// minimum is at least as large).
func mergeString(parts []ColumnStatistics, vals []*ColumnStatistics) *StringStatistics {
	out := &StringStatistics{Sum: sumInt(parts, func(p *ColumnStatistics) *int64 {
		if p.String == nil {
			return nil
		}
		return p.String.Sum
	})}
	if len(vals) == 0 {
		return out
	}
	var lo, hi string
	loExact, hiExact := true, true
	loOK, hiOK := true, true
	for i, p := range vals {
		s := p.String
		if s == nil {
			return &StringStatistics{Sum: out.Sum}
		}
		v, exact, ok := s.Minimum, true, true
		if v == nil {
			v, exact, ok = s.LowerBound, false, s.LowerBound != nil
		}
		if !ok {
			loOK = false
		} else if loOK && (i == 0 || *v < lo) {
			lo, loExact = *v, exact
		} else if loOK && *v == lo && exact {
			loExact = true
		}
		v, exact, ok = s.Maximum, true, true
		if v == nil {
			v, exact, ok = s.UpperBound, false, s.UpperBound != nil
		}
		if !ok {
			hiOK = false
		} else if hiOK && (i == 0 || *v > hi) {
			hi, hiExact = *v, exact
		} else if hiOK && *v == hi && exact {
			hiExact = true
		}
	}
	if loOK {
		if loExact {
			out.Minimum = Ptr(lo)
		} else {
			out.LowerBound = Ptr(lo)
		}
	}
	if hiOK {
		if hiExact {
			out.Maximum = Ptr(hi)
		} else {
			out.UpperBound = Ptr(hi)
		}
	}
	return out
}

func mergeBucket(parts []ColumnStatistics, vals []*ColumnStatistics) *BucketStatistics {
	out := &BucketStatistics{}
	for i := range parts {
		s := parts[i].Bucket
		if s == nil {
			if len(vals) > 0 && (parts[i].NumberOfValues == nil || *parts[i].NumberOfValues > 0) {
				return &BucketStatistics{} // a part with values and no count of trues
			}
			continue
		}
		for j, c := range s.Count {
			if j >= len(out.Count) {
				out.Count = append(out.Count, 0)
			}
			out.Count[j] += c
		}
	}
	return out
}

// maxDecimalDigits is Hive's decimal precision: a sum with more digits is
// not recorded, as the writer does.
const maxDecimalDigits = 38

func mergeDecimal(vals []*ColumnStatistics, scale int) *DecimalStatistics {
	out := &DecimalStatistics{}
	if len(vals) == 0 {
		return out
	}
	var lo, hi, sum *big.Rat
	var loS, hiS string
	mm, sumOK := true, true
	sum = new(big.Rat)
	for _, p := range vals {
		s := p.Decimal
		if s == nil {
			return &DecimalStatistics{}
		}
		mn, okMin := parseDecimal(s.Minimum)
		mx, okMax := parseDecimal(s.Maximum)
		if !okMin || !okMax {
			mm = false
		} else if mm {
			if lo == nil || mn.Cmp(lo) < 0 {
				lo, loS = mn, *s.Minimum
			}
			if hi == nil || mx.Cmp(hi) > 0 {
				hi, hiS = mx, *s.Maximum
			}
		}
		if v, ok := parseDecimal(s.Sum); ok && sumOK {
			sum.Add(sum, v)
		} else {
			sumOK = false
		}
	}
	if mm {
		out.Minimum, out.Maximum = Ptr(loS), Ptr(hiS)
	}
	if sumOK {
		if str, ok := formatDecimal(sum, scale); ok {
			out.Sum = Ptr(str)
		}
	}
	return out
}

func parseDecimal(s *string) (*big.Rat, bool) {
	if s == nil {
		return nil, false
	}
	return new(big.Rat).SetString(*s)
}

// formatDecimal writes v with at most scale fractional digits and no
// trailing zeros, as the writer prints decimal statistics; ok is false when
// v has more than maxDecimalDigits digits at that scale or more fractional
// digits than the scale allows.
func formatDecimal(v *big.Rat, scale int) (string, bool) {
	unscaled := new(big.Rat).Mul(v, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	if !unscaled.IsInt() {
		return "", false
	}
	if len(new(big.Int).Abs(unscaled.Num()).String()) > maxDecimalDigits {
		return "", false
	}
	s := v.FloatString(scale)
	if scale > 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s, true
}

func mergeDate(vals []*ColumnStatistics) *DateStatistics {
	out := &DateStatistics{}
	var lo, hi int32
	for i, p := range vals {
		s := p.Date
		if s == nil || s.Minimum == nil || s.Maximum == nil {
			return out
		}
		if i == 0 {
			lo, hi = *s.Minimum, *s.Maximum
		} else {
			lo, hi = min(lo, *s.Minimum), max(hi, *s.Maximum)
		}
	}
	if len(vals) > 0 {
		out.Minimum, out.Maximum = Ptr(lo), Ptr(hi)
	}
	return out
}

// tsKey orders a timestamp statistic: milliseconds, then the nanoseconds
// within the millisecond (stored plus one; absent means zero).
func tsKey(ms int64, nanos *int32) (int64, int32) {
	if nanos == nil || *nanos == 0 {
		return ms, 0
	}
	return ms, *nanos - 1
}

func tsLess(a int64, an *int32, b int64, bn *int32) bool {
	am, ax := tsKey(a, an)
	bm, bx := tsKey(b, bn)
	return am < bm || am == bm && ax < bx
}

func mergeTimestamp(vals []*ColumnStatistics) *TimestampStatistics {
	out := &TimestampStatistics{}
	if len(vals) == 0 {
		return out
	}
	utc, local := true, true
	for _, p := range vals {
		s := p.Timestamp
		if s == nil {
			return out
		}
		utc = utc && s.MinimumUTC != nil && s.MaximumUTC != nil
		local = local && s.Minimum != nil && s.Maximum != nil
	}
	first := vals[0].Timestamp
	if utc {
		lo, loN, hi, hiN := *first.MinimumUTC, first.MinimumNanos, *first.MaximumUTC, first.MaximumNanos
		for _, p := range vals[1:] {
			s := p.Timestamp
			if tsLess(*s.MinimumUTC, s.MinimumNanos, lo, loN) {
				lo, loN = *s.MinimumUTC, s.MinimumNanos
			}
			if tsLess(hi, hiN, *s.MaximumUTC, s.MaximumNanos) {
				hi, hiN = *s.MaximumUTC, s.MaximumNanos
			}
		}
		out.MinimumUTC, out.MaximumUTC = Ptr(lo), Ptr(hi)
		out.MinimumNanos, out.MaximumNanos = copyPtr(loN), copyPtr(hiN)
	}
	if local {
		lo, hi := *first.Minimum, *first.Maximum
		for _, p := range vals[1:] {
			lo, hi = min(lo, *p.Timestamp.Minimum), max(hi, *p.Timestamp.Maximum)
		}
		out.Minimum, out.Maximum = Ptr(lo), Ptr(hi)
	}
	return out
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	return Ptr(*p)
}

func mergeCollection(parts []ColumnStatistics, vals []*ColumnStatistics) *CollectionStatistics {
	out := &CollectionStatistics{TotalChildren: sumUint(parts, func(p *ColumnStatistics) *uint64 {
		if p.Collection == nil {
			return nil
		}
		return p.Collection.TotalChildren
	})}
	var lo, hi uint64
	for i, p := range vals {
		s := p.Collection
		if s == nil || s.MinChildren == nil || s.MaxChildren == nil {
			return &CollectionStatistics{TotalChildren: out.TotalChildren}
		}
		if i == 0 {
			lo, hi = *s.MinChildren, *s.MaxChildren
		} else {
			lo, hi = min(lo, *s.MinChildren), max(hi, *s.MaxChildren)
		}
	}
	if len(vals) > 0 {
		out.MinChildren, out.MaxChildren = Ptr(lo), Ptr(hi)
	}
	return out
}
