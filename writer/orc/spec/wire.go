package spec

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// skipField is returned by a field decoder for a field it does not know; the
// message decoder then keeps the field's bytes as unknown.
const skipField = -1

// fieldFunc decodes the value of one field from b (which starts right after
// the tag) and returns how many bytes it consumed, or skipField.
type fieldFunc func(num protowire.Number, typ protowire.Type, b []byte) (int, error)

// decodeMessage walks the fields of one message. Errors wrap ErrCorrupt and
// name the message and field so that a broken file can be diagnosed.
func decodeMessage(msg string, b []byte, unknown *[]byte, field fieldFunc) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: decode %s: field tag: %v", ErrCorrupt, msg, protowire.ParseError(n))
		}
		start := b
		b = b[n:]
		m, err := field(num, typ, b)
		if errors.Is(err, errWrongType) {
			// Like the protobuf runtime, a known field with an unexpected
			// wire type is kept as unknown: a future or foreign writer may
			// have reused the number, and that must not make the file
			// unreadable.
			m, err = skipField, nil
		}
		if err != nil {
			if errors.Is(err, ErrCorrupt) {
				// An embedded message already said what is corrupt.
				return fmt.Errorf("decode %s field %d: %w", msg, num, err)
			}
			return fmt.Errorf("%w: decode %s field %d: %v", ErrCorrupt, msg, num, err)
		}
		if m == skipField {
			m = protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return fmt.Errorf("%w: decode %s field %d: %v", ErrCorrupt, msg, num, protowire.ParseError(m))
			}
			*unknown = append(*unknown, start[:n+m]...)
		}
		b = b[m:]
	}
	return nil
}

var errWrongType = errors.New("unexpected wire type")

func wrongType(protowire.Type) error { return errWrongType }

func readUvarint(typ protowire.Type, b []byte) (uint64, int, error) {
	if typ != protowire.VarintType {
		return 0, 0, wrongType(typ)
	}
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, 0, protowire.ParseError(n)
	}
	return v, n, nil
}

func readUint32(typ protowire.Type, b []byte) (uint32, int, error) {
	v, n, err := readUvarint(typ, b)
	// Protobuf truncates out-of-range uint32 values silently; we do the same
	// so that files of other writers parse exactly as they do elsewhere.
	return uint32(v), n, err
}

func readSint64(typ protowire.Type, b []byte) (int64, int, error) {
	v, n, err := readUvarint(typ, b)
	return protowire.DecodeZigZag(v), n, err
}

func readBool(typ protowire.Type, b []byte) (bool, int, error) {
	v, n, err := readUvarint(typ, b)
	return v != 0, n, err
}

func readBytes(typ protowire.Type, b []byte) ([]byte, int, error) {
	if typ != protowire.BytesType {
		return nil, 0, wrongType(typ)
	}
	v, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return nil, 0, protowire.ParseError(n)
	}
	return v, n, nil
}

func readString(typ protowire.Type, b []byte) (string, int, error) {
	v, n, err := readBytes(typ, b)
	return string(v), n, err
}

func readDouble(typ protowire.Type, b []byte) (float64, int, error) {
	if typ != protowire.Fixed64Type {
		return 0, 0, wrongType(typ)
	}
	v, n := protowire.ConsumeFixed64(b)
	if n < 0 {
		return 0, 0, protowire.ParseError(n)
	}
	return math.Float64frombits(v), n, nil
}

// readPackedUvarints appends a repeated varint field in either its packed or
// unpacked form: parsers must accept both.
func readPackedUvarints(dst []uint64, typ protowire.Type, b []byte) ([]uint64, int, error) {
	if typ == protowire.VarintType {
		v, n, err := readUvarint(typ, b)
		return append(dst, v), n, err
	}
	p, n, err := readBytes(typ, b)
	if err != nil {
		return dst, 0, err
	}
	for len(p) > 0 {
		v, m := protowire.ConsumeVarint(p)
		if m < 0 {
			return dst, 0, protowire.ParseError(m)
		}
		dst = append(dst, v)
		p = p[m:]
	}
	return dst, n, nil
}

func readPackedUint32s(dst []uint32, typ protowire.Type, b []byte) ([]uint32, int, error) {
	if typ == protowire.VarintType {
		v, n, err := readUint32(typ, b)
		return append(dst, v), n, err
	}
	p, n, err := readBytes(typ, b)
	if err != nil {
		return dst, 0, err
	}
	for len(p) > 0 {
		v, m := protowire.ConsumeVarint(p)
		if m < 0 {
			return dst, 0, protowire.ParseError(m)
		}
		dst = append(dst, uint32(v))
		p = p[m:]
	}
	return dst, n, nil
}

func readPackedFixed64s(dst []uint64, typ protowire.Type, b []byte) ([]uint64, int, error) {
	if typ == protowire.Fixed64Type {
		v, n := protowire.ConsumeFixed64(b)
		if n < 0 {
			return dst, 0, protowire.ParseError(n)
		}
		return append(dst, v), n, nil
	}
	p, n, err := readBytes(typ, b)
	if err != nil {
		return dst, 0, err
	}
	if len(p)%8 != 0 {
		return dst, 0, fmt.Errorf("packed fixed64 of %d bytes", len(p))
	}
	for len(p) > 0 {
		v, _ := protowire.ConsumeFixed64(p)
		dst = append(dst, v)
		p = p[8:]
	}
	return dst, n, nil
}

// Message is what every message type of this package implements.
type Message interface {
	// AppendTo appends the message's protobuf encoding to b.
	AppendTo(b []byte) []byte
	// Unmarshal replaces the message with the decoding of b. Errors wrap
	// ErrCorrupt; unknown fields are kept and written back by AppendTo.
	Unmarshal(b []byte) error
}

// Marshal returns the protobuf encoding of m.
func Marshal(m interface{ AppendTo([]byte) []byte }) []byte { return m.AppendTo(nil) }

// Encoding helpers. Optional scalars are written when set (pointer fields) or
// when non-zero (plain fields whose zero value means "absent" in the spec).

func appendUvarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendUvarintNZ(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return appendUvarint(b, num, v)
}

func appendOptUvarint(b []byte, num protowire.Number, v *uint64) []byte {
	if v == nil {
		return b
	}
	return appendUvarint(b, num, *v)
}

func appendOptSint64(b []byte, num protowire.Number, v *int64) []byte {
	if v == nil {
		return b
	}
	return appendUvarint(b, num, protowire.EncodeZigZag(*v))
}

func appendOptSint32(b []byte, num protowire.Number, v *int32) []byte {
	if v == nil {
		return b
	}
	return appendUvarint(b, num, protowire.EncodeZigZag(int64(*v)))
}

func appendOptInt32(b []byte, num protowire.Number, v *int32) []byte {
	if v == nil {
		return b
	}
	// int32 fields are sign-extended to 64 bits on the wire.
	return appendUvarint(b, num, uint64(int64(*v)))
}

func appendOptDouble(b []byte, num protowire.Number, v *float64) []byte {
	if v == nil {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(*v))
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendString(b []byte, num protowire.Number, v string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, v)
}

func appendStringNZ(b []byte, num protowire.Number, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(b, num, v)
}

func appendOptString(b []byte, num protowire.Number, v *string) []byte {
	if v == nil {
		return b
	}
	return appendString(b, num, *v)
}

func appendPackedUvarints(b []byte, num protowire.Number, v []uint64) []byte {
	if len(v) == 0 {
		return b
	}
	n := 0
	for _, x := range v {
		n += protowire.SizeVarint(x)
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	for _, x := range v {
		b = protowire.AppendVarint(b, x)
	}
	return b
}

func appendPackedUint32s(b []byte, num protowire.Number, v []uint32) []byte {
	if len(v) == 0 {
		return b
	}
	n := 0
	for _, x := range v {
		n += protowire.SizeVarint(uint64(x))
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	for _, x := range v {
		b = protowire.AppendVarint(b, uint64(x))
	}
	return b
}

func appendPackedFixed64s(b []byte, num protowire.Number, v []uint64) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(8*len(v)))
	for _, x := range v {
		b = protowire.AppendFixed64(b, x)
	}
	return b
}

// appendMessage writes an embedded message. The message is first appended
// after a maximal-size length placeholder and then moved into place, which
// avoids computing sizes twice.
func appendMessage(b []byte, num protowire.Number, m interface{ AppendTo([]byte) []byte }) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	start := len(b)
	b = m.AppendTo(b)
	body := len(b) - start
	size := protowire.SizeVarint(uint64(body))
	b = append(b, make([]byte, size)...)
	copy(b[start+size:], b[start:start+body])
	protowire.AppendVarint(b[start:start], uint64(body))
	return b
}

// Ptr returns a pointer to v, for filling optional fields.
func Ptr[T any](v T) *T { return &v }

// into reads a value and stores it in *dst only when it was read without
// error, so that a field skipped for its wire type can't clobber a value
// read earlier from the same field number.
func into[T any](dst *T, read func(protowire.Type, []byte) (T, int, error), typ protowire.Type, b []byte) (int, error) {
	v, n, err := read(typ, b)
	if err == nil {
		*dst = v
	}
	return n, err
}

// set stores v in *p only when it was read without error, so that a field
// skipped for its wire type does not leave a zero value behind.
func set[T any](p **T, v T, n int, err error) (int, error) {
	if err == nil {
		*p = &v
	}
	return n, err
}

// readOptMessage decodes an embedded message into a new value stored in *p.
func readOptMessage[T any, PT interface {
	*T
	Unmarshal([]byte) error
}](p *PT, typ protowire.Type, b []byte) (int, error) {
	body, n, err := readBytes(typ, b)
	if err != nil {
		return 0, err
	}
	v := PT(new(T))
	if err := v.Unmarshal(body); err != nil {
		return 0, err
	}
	*p = v
	return n, nil
}

// readRepeatedMessage decodes one element of a repeated message field.
func readRepeatedMessage[T any, PT interface {
	*T
	Unmarshal([]byte) error
}](p *[]T, typ protowire.Type, b []byte) (int, error) {
	body, n, err := readBytes(typ, b)
	if err != nil {
		return 0, err
	}
	var v T
	if err := PT(&v).Unmarshal(body); err != nil {
		return 0, err
	}
	*p = append(*p, v)
	return n, nil
}
