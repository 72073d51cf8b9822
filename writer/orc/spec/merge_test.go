package spec

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestMergeStatistics(t *testing.T) {
	u := Ptr[uint64]
	i := Ptr[int64]
	s := Ptr[string]
	f := Ptr[float64]
	tests := []struct {
		name  string
		typ   Type
		parts []ColumnStatistics
		want  ColumnStatistics
	}{{
		name: "ints fold and add",
		typ:  Type{Kind: TypeLong},
		parts: []ColumnStatistics{
			{NumberOfValues: u(2), HasNull: Ptr(false), BytesOnDisk: u(10), Int: &IntegerStatistics{Minimum: i(-3), Maximum: i(5), Sum: i(2)}},
			{NumberOfValues: u(0), HasNull: Ptr(true), BytesOnDisk: u(4), Int: &IntegerStatistics{}},
			{NumberOfValues: u(1), HasNull: Ptr(false), BytesOnDisk: u(6), Int: &IntegerStatistics{Minimum: i(7), Maximum: i(7), Sum: i(7)}},
		},
		want: ColumnStatistics{NumberOfValues: u(3), HasNull: Ptr(true), BytesOnDisk: u(20), Int: &IntegerStatistics{Minimum: i(-3), Maximum: i(7), Sum: i(9)}},
	}, {
		name: "int sum overflow drops the sum, a missing sum too",
		typ:  Type{Kind: TypeLong},
		parts: []ColumnStatistics{
			{NumberOfValues: u(1), HasNull: Ptr(false), Int: &IntegerStatistics{Minimum: i(1 << 62), Maximum: i(1 << 62), Sum: i(1 << 62)}},
			{NumberOfValues: u(1), HasNull: Ptr(false), Int: &IntegerStatistics{Minimum: i(1 << 62), Maximum: i(1 << 62), Sum: i(1 << 62)}},
		},
		want: ColumnStatistics{NumberOfValues: u(2), HasNull: Ptr(false), Int: &IntegerStatistics{Minimum: i(1 << 62), Maximum: i(1 << 62)}},
	}, {
		name: "all null parts keep an empty typed message",
		typ:  Type{Kind: TypeInt},
		parts: []ColumnStatistics{
			{NumberOfValues: u(0), HasNull: Ptr(true), Int: &IntegerStatistics{}},
			{NumberOfValues: u(0), HasNull: Ptr(true), Int: &IntegerStatistics{}},
		},
		want: ColumnStatistics{NumberOfValues: u(0), HasNull: Ptr(true), Int: &IntegerStatistics{}},
	}, {
		name: "strings: exact and truncated bounds",
		typ:  Type{Kind: TypeString},
		parts: []ColumnStatistics{
			{NumberOfValues: u(1), HasNull: Ptr(false), String: &StringStatistics{Minimum: s("b"), Maximum: s("m"), Sum: i(3)}},
			{NumberOfValues: u(1), HasNull: Ptr(false), String: &StringStatistics{LowerBound: s("a"), UpperBound: s("m"), Sum: i(2000)}},
		},
		// "a" is only a bound; "m" is exact in one part and a bound of a
		// value at most "m" in the other, so exact.
		want: ColumnStatistics{NumberOfValues: u(2), HasNull: Ptr(false), String: &StringStatistics{LowerBound: s("a"), Maximum: s("m"), Sum: i(2003)}},
	}, {
		name: "doubles: NaN-only part has no min",
		typ:  Type{Kind: TypeDouble},
		parts: []ColumnStatistics{
			{NumberOfValues: u(2), HasNull: Ptr(false), Double: &DoubleStatistics{Minimum: f(-1), Maximum: f(2), Sum: f(1)}},
			{NumberOfValues: u(1), HasNull: Ptr(false), Double: &DoubleStatistics{}},
		},
		want: ColumnStatistics{NumberOfValues: u(3), HasNull: Ptr(false), Double: &DoubleStatistics{Minimum: f(-1), Maximum: f(2)}},
	}, {
		name: "booleans add their true counts",
		typ:  Type{Kind: TypeBoolean},
		parts: []ColumnStatistics{
			{NumberOfValues: u(3), HasNull: Ptr(false), Bucket: &BucketStatistics{Count: []uint64{2}}},
			{NumberOfValues: u(4), HasNull: Ptr(false), Bucket: &BucketStatistics{Count: []uint64{1}}},
		},
		want: ColumnStatistics{NumberOfValues: u(7), HasNull: Ptr(false), Bucket: &BucketStatistics{Count: []uint64{3}}},
	}, {
		name: "decimals compare as numbers and print like the writer",
		typ:  Type{Kind: TypeDecimal, Precision: 10, Scale: 2},
		parts: []ColumnStatistics{
			{NumberOfValues: u(2), HasNull: Ptr(false), Decimal: &DecimalStatistics{Minimum: s("-10.5"), Maximum: s("9.25"), Sum: s("-1.25")}},
			{NumberOfValues: u(1), HasNull: Ptr(false), Decimal: &DecimalStatistics{Minimum: s("-2"), Maximum: s("100"), Sum: s("1.25")}},
		},
		want: ColumnStatistics{NumberOfValues: u(3), HasNull: Ptr(false), Decimal: &DecimalStatistics{Minimum: s("-10.5"), Maximum: s("100"), Sum: s("0")}},
	}, {
		name: "timestamps order by millisecond then nanosecond",
		typ:  Type{Kind: TypeTimestamp},
		parts: []ColumnStatistics{
			{NumberOfValues: u(1), HasNull: Ptr(false), Timestamp: &TimestampStatistics{MinimumUTC: i(1000), MaximumUTC: i(2000), MinimumNanos: Ptr[int32](5), MaximumNanos: Ptr[int32](10)}},
			{NumberOfValues: u(1), HasNull: Ptr(false), Timestamp: &TimestampStatistics{MinimumUTC: i(1000), MaximumUTC: i(2000), MinimumNanos: Ptr[int32](3)}},
		},
		want: ColumnStatistics{NumberOfValues: u(2), HasNull: Ptr(false), Timestamp: &TimestampStatistics{MinimumUTC: i(1000), MaximumUTC: i(2000), MinimumNanos: Ptr[int32](3), MaximumNanos: Ptr[int32](10)}},
	}, {
		name: "dates, collections, binary",
		typ:  Type{Kind: TypeMap},
		parts: []ColumnStatistics{
			{NumberOfValues: u(1), HasNull: nil, Collection: &CollectionStatistics{MinChildren: u(1), MaxChildren: u(4), TotalChildren: u(4)}},
			{NumberOfValues: u(2), HasNull: Ptr(false), Collection: &CollectionStatistics{MinChildren: u(0), MaxChildren: u(2), TotalChildren: u(2)}},
		},
		// One part doesn't say whether it had nulls: unknown.
		want: ColumnStatistics{NumberOfValues: u(3), Collection: &CollectionStatistics{MinChildren: u(0), MaxChildren: u(4), TotalChildren: u(6)}},
	}, {
		name:  "unknown fields are dropped",
		typ:   Type{Kind: TypeStruct},
		parts: []ColumnStatistics{{NumberOfValues: u(1), HasNull: Ptr(false), Unknown: []byte{0x78, 1}}},
		want:  ColumnStatistics{NumberOfValues: u(1), HasNull: Ptr(false)},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MergeStatistics(&tc.typ, tc.parts)
			if !reflect.DeepEqual(Marshal(&got), Marshal(&tc.want)) {
				t.Fatalf("got  %s\nwant %s", describe(&got), describe(&tc.want))
			}
		})
	}
}

func TestMergeStatisticsDates(t *testing.T) {
	d := Ptr[int32]
	got := MergeStatistics(&Type{Kind: TypeDate}, []ColumnStatistics{
		{NumberOfValues: Ptr[uint64](1), Date: &DateStatistics{Minimum: d(10), Maximum: d(20)}},
		{NumberOfValues: Ptr[uint64](1), Date: &DateStatistics{Minimum: d(-5), Maximum: d(15)}},
	})
	if *got.Date.Minimum != -5 || *got.Date.Maximum != 20 {
		t.Fatalf("dates: %+v", got.Date)
	}
	got = MergeStatistics(&Type{Kind: TypeBinary}, []ColumnStatistics{
		{NumberOfValues: Ptr[uint64](1), Binary: &BinaryStatistics{Sum: Ptr[int64](3)}},
		{NumberOfValues: Ptr[uint64](1), Binary: &BinaryStatistics{Sum: Ptr[int64](4)}},
	})
	if *got.Binary.Sum != 7 {
		t.Fatalf("binary: %+v", got.Binary)
	}
}

// describe prints statistics readably: JSON shows pointers' values.
func describe(c *ColumnStatistics) string {
	b, err := json.Marshal(c)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
