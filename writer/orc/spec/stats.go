package spec

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// Statistics messages. Every optional scalar is a pointer because absence
// carries meaning: a sum that overflowed is left out, and a missing minimum
// must not read as zero to predicate pushdown.

// IntegerStatistics are the statistics of tinyint, smallint, int and bigint
// columns. Sum is absent when it overflowed int64.
type IntegerStatistics struct {
	Minimum, Maximum, Sum *int64
	Unknown               []byte
}

func (m *IntegerStatistics) AppendTo(b []byte) []byte {
	b = appendOptSint64(b, 1, m.Minimum)
	b = appendOptSint64(b, 2, m.Maximum)
	b = appendOptSint64(b, 3, m.Sum)
	return append(b, m.Unknown...)
}

func (m *IntegerStatistics) Unmarshal(b []byte) error {
	*m = IntegerStatistics{}
	return decodeMessage("IntegerStatistics", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var p **int64
		switch num {
		case 1:
			p = &m.Minimum
		case 2:
			p = &m.Maximum
		case 3:
			p = &m.Sum
		default:
			return skipField, nil
		}
		v, n, err := readSint64(typ, b)
		return set(p, v, n, err)
	})
}

// DoubleStatistics are the statistics of float and double columns.
type DoubleStatistics struct {
	Minimum, Maximum, Sum *float64
	Unknown               []byte
}

func (m *DoubleStatistics) AppendTo(b []byte) []byte {
	b = appendOptDouble(b, 1, m.Minimum)
	b = appendOptDouble(b, 2, m.Maximum)
	b = appendOptDouble(b, 3, m.Sum)
	return append(b, m.Unknown...)
}

func (m *DoubleStatistics) Unmarshal(b []byte) error {
	*m = DoubleStatistics{}
	return decodeMessage("DoubleStatistics", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var p **float64
		switch num {
		case 1:
			p = &m.Minimum
		case 2:
			p = &m.Maximum
		case 3:
			p = &m.Sum
		default:
			return skipField, nil
		}
		v, n, err := readDouble(typ, b)
		return set(p, v, n, err)
	})
}

// StringStatistics are the statistics of string, varchar and char columns.
// Writers since ORC-203 leave Minimum/Maximum out when a value is too long and
// record truncated LowerBound/UpperBound instead. Sum is the total length.
type StringStatistics struct {
	Minimum, Maximum       *string
	Sum                    *int64
	LowerBound, UpperBound *string
	Unknown                []byte
}

func (m *StringStatistics) AppendTo(b []byte) []byte {
	b = appendOptString(b, 1, m.Minimum)
	b = appendOptString(b, 2, m.Maximum)
	b = appendOptSint64(b, 3, m.Sum)
	b = appendOptString(b, 4, m.LowerBound)
	b = appendOptString(b, 5, m.UpperBound)
	return append(b, m.Unknown...)
}

func (m *StringStatistics) Unmarshal(b []byte) error {
	*m = StringStatistics{}
	return decodeMessage("StringStatistics", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var p **string
		switch num {
		case 1:
			p = &m.Minimum
		case 2:
			p = &m.Maximum
		case 3:
			v, n, err := readSint64(typ, b)
			return set(&m.Sum, v, n, err)
		case 4:
			p = &m.LowerBound
		case 5:
			p = &m.UpperBound
		default:
			return skipField, nil
		}
		v, n, err := readString(typ, b)
		return set(p, v, n, err)
	})
}

// BucketStatistics are the statistics of boolean columns: Count[0] is the
// number of true values.
type BucketStatistics struct {
	Count   []uint64
	Unknown []byte
}

func (m *BucketStatistics) AppendTo(b []byte) []byte {
	b = appendPackedUvarints(b, 1, m.Count)
	return append(b, m.Unknown...)
}

func (m *BucketStatistics) Unmarshal(b []byte) error {
	*m = BucketStatistics{}
	return decodeMessage("BucketStatistics", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		if num != 1 {
			return skipField, nil
		}
		var n int
		var err error
		m.Count, n, err = readPackedUvarints(m.Count, typ, b)
		return n, err
	})
}

// DecimalStatistics are the statistics of decimal columns, as decimal strings.
type DecimalStatistics struct {
	Minimum, Maximum, Sum *string
	Unknown               []byte
}

func (m *DecimalStatistics) AppendTo(b []byte) []byte {
	b = appendOptString(b, 1, m.Minimum)
	b = appendOptString(b, 2, m.Maximum)
	b = appendOptString(b, 3, m.Sum)
	return append(b, m.Unknown...)
}

func (m *DecimalStatistics) Unmarshal(b []byte) error {
	*m = DecimalStatistics{}
	return decodeMessage("DecimalStatistics", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var p **string
		switch num {
		case 1:
			p = &m.Minimum
		case 2:
			p = &m.Maximum
		case 3:
			p = &m.Sum
		default:
			return skipField, nil
		}
		v, n, err := readString(typ, b)
		return set(p, v, n, err)
	})
}

// DateStatistics are the statistics of date columns, in days since 1970-01-01.
type DateStatistics struct {
	Minimum, Maximum *int32
	Unknown          []byte
}

func (m *DateStatistics) AppendTo(b []byte) []byte {
	b = appendOptSint32(b, 1, m.Minimum)
	b = appendOptSint32(b, 2, m.Maximum)
	return append(b, m.Unknown...)
}

func (m *DateStatistics) Unmarshal(b []byte) error {
	*m = DateStatistics{}
	return decodeMessage("DateStatistics", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var p **int32
		switch num {
		case 1:
			p = &m.Minimum
		case 2:
			p = &m.Maximum
		default:
			return skipField, nil
		}
		v, n, err := readSint64(typ, b)
		return set(p, int32(v), n, err)
	})
}

// TimestampStatistics are the statistics of timestamp columns in milliseconds
// since the epoch. Minimum/Maximum (before ORC-135) include the writer's
// local offset; MinimumUTC/MaximumUTC are in UTC. MinimumNanos/MaximumNanos
// hold the sub-millisecond nanoseconds plus one (so that 0 means absent).
type TimestampStatistics struct {
	Minimum, Maximum           *int64
	MinimumUTC, MaximumUTC     *int64
	MinimumNanos, MaximumNanos *int32
	Unknown                    []byte
}

func (m *TimestampStatistics) AppendTo(b []byte) []byte {
	b = appendOptSint64(b, 1, m.Minimum)
	b = appendOptSint64(b, 2, m.Maximum)
	b = appendOptSint64(b, 3, m.MinimumUTC)
	b = appendOptSint64(b, 4, m.MaximumUTC)
	b = appendOptInt32(b, 5, m.MinimumNanos)
	b = appendOptInt32(b, 6, m.MaximumNanos)
	return append(b, m.Unknown...)
}

func (m *TimestampStatistics) Unmarshal(b []byte) error {
	*m = TimestampStatistics{}
	return decodeMessage("TimestampStatistics", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var p **int64
		switch num {
		case 1:
			p = &m.Minimum
		case 2:
			p = &m.Maximum
		case 3:
			p = &m.MinimumUTC
		case 4:
			p = &m.MaximumUTC
		case 5, 6:
			v, n, err := readUvarint(typ, b)
			if num == 5 {
				return set(&m.MinimumNanos, int32(v), n, err)
			}
			return set(&m.MaximumNanos, int32(v), n, err)
		default:
			return skipField, nil
		}
		v, n, err := readSint64(typ, b)
		return set(p, v, n, err)
	})
}

// BinaryStatistics are the statistics of binary columns: the total length.
type BinaryStatistics struct {
	Sum     *int64
	Unknown []byte
}

func (m *BinaryStatistics) AppendTo(b []byte) []byte {
	b = appendOptSint64(b, 1, m.Sum)
	return append(b, m.Unknown...)
}

func (m *BinaryStatistics) Unmarshal(b []byte) error {
	*m = BinaryStatistics{}
	return decodeMessage("BinaryStatistics", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		if num != 1 {
			return skipField, nil
		}
		v, n, err := readSint64(typ, b)
		return set(&m.Sum, v, n, err)
	})
}

// CollectionStatistics are the statistics of list and map columns: the
// number of children per value.
type CollectionStatistics struct {
	MinChildren, MaxChildren, TotalChildren *uint64
	Unknown                                 []byte
}

func (m *CollectionStatistics) AppendTo(b []byte) []byte {
	b = appendOptUvarint(b, 1, m.MinChildren)
	b = appendOptUvarint(b, 2, m.MaxChildren)
	b = appendOptUvarint(b, 3, m.TotalChildren)
	return append(b, m.Unknown...)
}

func (m *CollectionStatistics) Unmarshal(b []byte) error {
	*m = CollectionStatistics{}
	return decodeMessage("CollectionStatistics", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var p **uint64
		switch num {
		case 1:
			p = &m.MinChildren
		case 2:
			p = &m.MaxChildren
		case 3:
			p = &m.TotalChildren
		default:
			return skipField, nil
		}
		v, n, err := readUvarint(typ, b)
		return set(p, v, n, err)
	})
}

// ColumnStatistics are the statistics of one column over a row group, a
// stripe or the file. At most one of the typed sub-statistics is set.
// NumberOfValues counts non-null values; HasNull says whether any was null.
type ColumnStatistics struct {
	NumberOfValues *uint64
	Int            *IntegerStatistics
	Double         *DoubleStatistics
	String         *StringStatistics
	Bucket         *BucketStatistics
	Decimal        *DecimalStatistics
	Date           *DateStatistics
	Binary         *BinaryStatistics
	Timestamp      *TimestampStatistics
	HasNull        *bool
	BytesOnDisk    *uint64
	Collection     *CollectionStatistics
	Unknown        []byte
}

func (m *ColumnStatistics) AppendTo(b []byte) []byte {
	b = appendOptUvarint(b, 1, m.NumberOfValues)
	if m.Int != nil {
		b = appendMessage(b, 2, m.Int)
	}
	if m.Double != nil {
		b = appendMessage(b, 3, m.Double)
	}
	if m.String != nil {
		b = appendMessage(b, 4, m.String)
	}
	if m.Bucket != nil {
		b = appendMessage(b, 5, m.Bucket)
	}
	if m.Decimal != nil {
		b = appendMessage(b, 6, m.Decimal)
	}
	if m.Date != nil {
		b = appendMessage(b, 7, m.Date)
	}
	if m.Binary != nil {
		b = appendMessage(b, 8, m.Binary)
	}
	if m.Timestamp != nil {
		b = appendMessage(b, 9, m.Timestamp)
	}
	if m.HasNull != nil {
		v := uint64(0)
		if *m.HasNull {
			v = 1
		}
		b = appendUvarint(b, 10, v)
	}
	b = appendOptUvarint(b, 11, m.BytesOnDisk)
	if m.Collection != nil {
		b = appendMessage(b, 12, m.Collection)
	}
	return append(b, m.Unknown...)
}

func (m *ColumnStatistics) Unmarshal(b []byte) error {
	*m = ColumnStatistics{}
	return decodeMessage("ColumnStatistics", b, &m.Unknown, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		switch num {
		case 1:
			v, n, err := readUvarint(typ, b)
			return set(&m.NumberOfValues, v, n, err)
		case 2:
			return readOptMessage(&m.Int, typ, b)
		case 3:
			return readOptMessage(&m.Double, typ, b)
		case 4:
			return readOptMessage(&m.String, typ, b)
		case 5:
			return readOptMessage(&m.Bucket, typ, b)
		case 6:
			return readOptMessage(&m.Decimal, typ, b)
		case 7:
			return readOptMessage(&m.Date, typ, b)
		case 8:
			return readOptMessage(&m.Binary, typ, b)
		case 9:
			return readOptMessage(&m.Timestamp, typ, b)
		case 10:
			v, n, err := readBool(typ, b)
			return set(&m.HasNull, v, n, err)
		case 11:
			v, n, err := readUvarint(typ, b)
			return set(&m.BytesOnDisk, v, n, err)
		case 12:
			return readOptMessage(&m.Collection, typ, b)
		}
		return skipField, nil
	})
}
