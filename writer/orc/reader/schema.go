package reader

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/landfall/landfall/writer/orc/spec"
)

// Type is one node of a file's schema. ID is the column id (the index into
// the footer's types and into column statistics); the children of a node
// have the ids ID+1 .. MaxID in pre-order.
type Type struct {
	ID       int
	MaxID    int
	Kind     spec.TypeKind
	Children []*Type
	// FieldNames name the children of a struct.
	FieldNames []string
	// MaxLength is the length of varchar and char.
	MaxLength int
	// Precision and Scale are those of decimal; the unbounded decimals of
	// Hive 0.11 (precision 0 in the file) read as decimal(38,6).
	Precision, Scale int
	// Attributes are the type's key/value annotations (Iceberg ids, masks).
	Attributes map[string]string
}

// maxSchemaDepth bounds how deeply types may nest, so that a hostile footer
// can't make the recursive decoders exhaust the stack.
const maxSchemaDepth = 1000

// buildSchema turns the flattened type list into a tree and checks that it
// is a proper pre-order tree: every id used once, children after parents.
func buildSchema(types []spec.Type) (*Type, error) {
	if len(types) == 0 {
		return nil, fmt.Errorf("%w: footer has no types", spec.ErrCorrupt)
	}
	nodes := make([]*Type, len(types))
	var build func(id, depth int) (*Type, error)
	next := 0 // the id the pre-order walk expects next
	build = func(id, depth int) (*Type, error) {
		if depth > maxSchemaDepth {
			return nil, fmt.Errorf("%w: schema nests deeper than %d", spec.ErrCorrupt, maxSchemaDepth)
		}
		if id != next || id >= len(types) {
			return nil, fmt.Errorf("%w: type %d is out of pre-order (expected %d of %d)", spec.ErrCorrupt, id, next, len(types))
		}
		next++
		pt := &types[id]
		t := &Type{ID: id, Kind: pt.Kind, MaxLength: int(pt.MaximumLength), Precision: int(pt.Precision), Scale: int(pt.Scale)}
		nodes[id] = t
		if t.Kind == spec.TypeDecimal && t.Precision == 0 {
			// Hive 0.11 decimals had no declared precision or scale;
			// readers present them as decimal(38,6), truncating extra
			// digits, as the ORC C++ and Hive readers do.
			t.Precision, t.Scale = 38, 6
		}
		if len(pt.Attributes) > 0 {
			t.Attributes = make(map[string]string, len(pt.Attributes))
			for _, a := range pt.Attributes {
				t.Attributes[a.Key] = a.Value
			}
		}
		switch pt.Kind {
		case spec.TypeBoolean, spec.TypeByte, spec.TypeShort, spec.TypeInt, spec.TypeLong,
			spec.TypeFloat, spec.TypeDouble, spec.TypeString, spec.TypeBinary, spec.TypeTimestamp,
			spec.TypeDecimal, spec.TypeDate, spec.TypeVarchar, spec.TypeChar, spec.TypeTimestampInstant:
			if len(pt.Subtypes) != 0 {
				return nil, fmt.Errorf("%w: %v type %d has children", spec.ErrCorrupt, pt.Kind, id)
			}
		case spec.TypeList:
			if len(pt.Subtypes) != 1 {
				return nil, fmt.Errorf("%w: list type %d has %d children", spec.ErrCorrupt, id, len(pt.Subtypes))
			}
		case spec.TypeMap:
			if len(pt.Subtypes) != 2 {
				return nil, fmt.Errorf("%w: map type %d has %d children", spec.ErrCorrupt, id, len(pt.Subtypes))
			}
		case spec.TypeStruct:
			if len(pt.FieldNames) != len(pt.Subtypes) {
				// Hive 0.11 files may lack names; make them up like Hive.
				if len(pt.FieldNames) != 0 {
					return nil, fmt.Errorf("%w: struct type %d has %d children and %d names", spec.ErrCorrupt, id, len(pt.Subtypes), len(pt.FieldNames))
				}
			}
		case spec.TypeUnion:
			if len(pt.Subtypes) == 0 || len(pt.Subtypes) > 256 {
				return nil, fmt.Errorf("%w: union type %d has %d variants", spec.ErrCorrupt, id, len(pt.Subtypes))
			}
		default:
			return nil, fmt.Errorf("%w: type %d has unknown kind %v", spec.ErrCorrupt, id, pt.Kind)
		}
		for i, sub := range pt.Subtypes {
			c, err := build(int(sub), depth+1)
			if err != nil {
				return nil, err
			}
			t.Children = append(t.Children, c)
			if pt.Kind == spec.TypeStruct {
				name := "_col" + strconv.Itoa(i)
				if i < len(pt.FieldNames) {
					name = pt.FieldNames[i]
				}
				t.FieldNames = append(t.FieldNames, name)
			}
		}
		t.MaxID = next - 1
		return t, nil
	}
	root, err := build(0, 0)
	if err != nil {
		return nil, err
	}
	if next != len(types) {
		return nil, fmt.Errorf("%w: %d of %d types are not reachable from the root", spec.ErrCorrupt, len(types)-next, len(types))
	}
	return root, nil
}

// String is the type in Hive's notation, e.g. struct<a:int,b:array<string>>.
func (t *Type) String() string {
	var b strings.Builder
	t.write(&b)
	return b.String()
}

func (t *Type) write(b *strings.Builder) {
	switch t.Kind {
	case spec.TypeStruct:
		b.WriteString("struct<")
		for i, c := range t.Children {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(t.FieldNames[i])
			b.WriteByte(':')
			c.write(b)
		}
		b.WriteByte('>')
	case spec.TypeList, spec.TypeMap, spec.TypeUnion:
		b.WriteString(t.Kind.String())
		b.WriteByte('<')
		for i, c := range t.Children {
			if i > 0 {
				b.WriteByte(',')
			}
			c.write(b)
		}
		b.WriteByte('>')
	case spec.TypeDecimal:
		fmt.Fprintf(b, "decimal(%d,%d)", t.Precision, t.Scale)
	case spec.TypeVarchar, spec.TypeChar:
		fmt.Fprintf(b, "%s(%d)", t.Kind, t.MaxLength)
	default:
		b.WriteString(t.Kind.String())
	}
}

// Field returns the child of a struct with the given name, or nil.
func (t *Type) Field(name string) *Type {
	for i, n := range t.FieldNames {
		if n == name {
			return t.Children[i]
		}
	}
	return nil
}
