package reader

import (
	"math/big"
	"strings"
	"time"

	"github.com/landfall/landfall/writer/orc/spec"
)

// Vector holds the values of one column for a batch of rows. Which fields
// are used depends on Type.Kind; values of null rows are zero.
//
// A BatchReader reuses its vectors: their contents are valid until the next
// call to Next. Byte slices point into the stripe's decompressed streams and
// stay valid after that, but must not be modified.
type Vector struct {
	Type *Type
	Len  int
	// Nulls marks null rows; nil when no row of the batch is null.
	Nulls []bool

	// Int holds boolean (0/1), tinyint, smallint, int, bigint and date (days
	// since 1970-01-01) values.
	Int []int64
	// Float holds float and double values.
	Float []float64
	// Bytes holds string, varchar, char and binary values.
	Bytes [][]byte
	// Time holds timestamp values. For timestamp (without time zone) it is
	// the writer's wall clock expressed in UTC, which is how Hive shows it;
	// for timestamp with local time zone it is the instant, in UTC.
	Time []time.Time
	// Decimal holds decimal values.
	Decimal []Decimal
	// Offsets delimit the elements of list and map rows in the child
	// vectors: row i has children Offsets[i] to Offsets[i+1].
	Offsets []int
	// Tags holds the variant of each union row.
	Tags []byte
	// Children are the struct fields, the list element, the map key and
	// value, or the union variants. Struct and union children are aligned
	// with the parent's rows; list and map children with Offsets.
	Children []*Vector
}

// Decimal is a decimal value: Unscaled × 10^-Scale.
type Decimal struct {
	Unscaled big.Int
	Scale    int
}

// String formats the decimal with exactly Scale fractional digits.
func (d *Decimal) String() string {
	s := d.Unscaled.String()
	if d.Scale <= 0 {
		if d.Scale < 0 {
			s += strings.Repeat("0", -d.Scale)
		}
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) <= d.Scale {
		s = strings.Repeat("0", d.Scale-len(s)+1) + s
	}
	s = s[:len(s)-d.Scale] + "." + s[len(s)-d.Scale:]
	if neg {
		s = "-" + s
	}
	return s
}

// Rat is the decimal as an exact rational.
func (d *Decimal) Rat() *big.Rat {
	r := new(big.Rat).SetInt(&d.Unscaled)
	if d.Scale != 0 {
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(d.Scale))), nil)
		if d.Scale > 0 {
			r.Quo(r, new(big.Rat).SetInt(p))
		} else {
			r.Mul(r, new(big.Rat).SetInt(p))
		}
	}
	return r
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Field is one field of a struct value.
type Field struct {
	Name  string
	Value any
}

// KeyValue is one entry of a map value.
type KeyValue struct {
	Key, Value any
}

// Union is a union value: the variant and its value.
type Union struct {
	Tag   int
	Value any
}

// IsNull says whether row i is null.
func (v *Vector) IsNull(i int) bool { return v.Nulls != nil && v.Nulls[i] }

// Value returns row i as a Go value: nil for null; bool; int64 for the
// integer kinds; float32 or float64; string for string, varchar and char;
// []byte for binary; time.Time for timestamps and dates (midnight UTC);
// Decimal; []any for lists; []KeyValue for maps; []Field for structs;
// Union for unions. It allocates and is meant for tests and tools, not for
// the hot path.
func (v *Vector) Value(i int) any {
	if v.IsNull(i) {
		return nil
	}
	switch v.Type.Kind {
	case spec.TypeBoolean:
		return v.Int[i] != 0
	case spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong:
		return v.Int[i]
	case spec.TypeDate:
		return time.Unix(v.Int[i]*86400, 0).UTC()
	case spec.TypeFloat:
		return float32(v.Float[i])
	case spec.TypeDouble:
		return v.Float[i]
	case spec.TypeString, spec.TypeVarchar, spec.TypeChar:
		return string(v.Bytes[i])
	case spec.TypeBinary:
		return append([]byte{}, v.Bytes[i]...)
	case spec.TypeTimestamp, spec.TypeTimestampInstant:
		return v.Time[i]
	case spec.TypeDecimal:
		d := Decimal{Scale: v.Decimal[i].Scale}
		d.Unscaled.Set(&v.Decimal[i].Unscaled)
		return d
	case spec.TypeList:
		out := make([]any, 0, v.Offsets[i+1]-v.Offsets[i])
		for j := v.Offsets[i]; j < v.Offsets[i+1]; j++ {
			out = append(out, v.Children[0].Value(j))
		}
		return out
	case spec.TypeMap:
		out := make([]KeyValue, 0, v.Offsets[i+1]-v.Offsets[i])
		for j := v.Offsets[i]; j < v.Offsets[i+1]; j++ {
			out = append(out, KeyValue{Key: v.Children[0].Value(j), Value: v.Children[1].Value(j)})
		}
		return out
	case spec.TypeStruct:
		out := make([]Field, len(v.Children))
		for j, c := range v.Children {
			out[j] = Field{Name: v.Type.FieldNames[j], Value: c.Value(i)}
		}
		return out
	case spec.TypeUnion:
		tag := int(v.Tags[i])
		return Union{Tag: tag, Value: v.Children[tag].Value(i)}
	}
	return nil
}

// newVector builds the vector tree for a type.
func newVector(t *Type) *Vector {
	v := &Vector{Type: t}
	for _, c := range t.Children {
		v.Children = append(v.Children, newVector(c))
	}
	return v
}
