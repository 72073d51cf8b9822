package schema

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/landfall/landfall/writer/orc/spec"
)

// Type is one node of a schema. Columns are numbered by a pre-order walk
// of the tree, the root (always a struct) being column 0, as the ORC footer
// lists them: ID is the column id (the index into the footer's types and
// into column statistics), and the children of a node have the ids ID+1 ..
// MaxID.
type Type struct {
	ID       int
	MaxID    int
	Kind     spec.TypeKind
	Children []*Type // struct fields, list element, map key and value, union variants
	// FieldNames name the children of a struct; Parse stores them lower
	// case, as Hive does.
	FieldNames []string
	// MaxLength is the length of varchar and char.
	MaxLength int
	// Precision and Scale are those of decimal; the unbounded decimals of
	// Hive 0.11 (precision 0 in a file) read as decimal(38,6).
	Precision, Scale int
	// Attributes are the type's key/value annotations (Iceberg ids, masks).
	Attributes map[string]string
}

const (
	maxDecimalPrecision = 38
	defaultPrecision    = 38
	defaultScale        = 18
	maxVarcharLength    = 65535
	maxCharLength       = 255
	maxParseDepth       = 100
)

// Parse parses a Hive type string such as
// "struct<ts:bigint,level:string,tags:map<string,string>>". The top level
// must be a struct: its fields are the table's columns. Field names are
// matched case-insensitively like Hive does, so they are stored lower case;
// two fields that differ only in case are an error.
func Parse(s string) (*Type, error) {
	p := schemaParser{s: s}
	t, err := p.parseType(0)
	if err != nil {
		return nil, fmt.Errorf("orc: parse schema %q: %w", abbreviate(s), err)
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("orc: parse schema %q: unexpected %q at offset %d", abbreviate(s), p.rest(), p.i)
	}
	if t.Kind != spec.TypeStruct {
		return nil, fmt.Errorf("orc: parse schema %q: the top level must be a struct, not %s", abbreviate(s), t.Kind)
	}
	t.assignIDs(0)
	return t, nil
}

func abbreviate(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

type schemaParser struct {
	s string
	i int
}

func (p *schemaParser) rest() string {
	r := p.s[p.i:]
	if len(r) > 20 {
		r = r[:20]
	}
	return r
}

func (p *schemaParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *schemaParser) expect(c byte) error {
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != c {
		if p.i >= len(p.s) {
			return fmt.Errorf("want %q at offset %d, got end of input", c, p.i)
		}
		return fmt.Errorf("want %q at offset %d, got %q", c, p.i, p.rest())
	}
	p.i++
	return nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ident reads a type or field name; field names may also be quoted in
// backticks (Hive's syntax for names with other characters).
func (p *schemaParser) ident() (string, error) {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '`' {
		// A backtick inside the name is written twice, as Hive does.
		at := p.i
		var name strings.Builder
		for p.i++; ; p.i++ {
			end := strings.IndexByte(p.s[p.i:], '`')
			if end < 0 {
				return "", fmt.Errorf("unterminated ` at offset %d", at)
			}
			name.WriteString(p.s[p.i : p.i+end])
			p.i += end + 1
			if p.i >= len(p.s) || p.s[p.i] != '`' {
				break
			}
			name.WriteByte('`')
		}
		if name.Len() == 0 {
			return "", fmt.Errorf("empty name at offset %d", p.i)
		}
		return name.String(), nil
	}
	start := p.i
	for p.i < len(p.s) && isIdentByte(p.s[p.i]) {
		p.i++
	}
	if start == p.i {
		if p.i >= len(p.s) {
			return "", fmt.Errorf("want a name at offset %d, got end of input", p.i)
		}
		return "", fmt.Errorf("want a name at offset %d, got %q", p.i, p.rest())
	}
	return p.s[start:p.i], nil
}

func (p *schemaParser) number() (int, error) {
	p.skipSpace()
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	if start == p.i || p.i-start > 9 {
		return 0, fmt.Errorf("want a number at offset %d", start)
	}
	return strconv.Atoi(p.s[start:p.i])
}

func (p *schemaParser) peek(c byte) bool {
	p.skipSpace()
	return p.i < len(p.s) && p.s[p.i] == c
}

var primitiveKinds = map[string]spec.TypeKind{
	"boolean":   spec.TypeBoolean,
	"tinyint":   spec.TypeByte,
	"smallint":  spec.TypeShort,
	"int":       spec.TypeInt,
	"integer":   spec.TypeInt,
	"bigint":    spec.TypeLong,
	"float":     spec.TypeFloat,
	"double":    spec.TypeDouble,
	"string":    spec.TypeString,
	"binary":    spec.TypeBinary,
	"timestamp": spec.TypeTimestamp,
	"date":      spec.TypeDate,
}

func (p *schemaParser) parseType(depth int) (*Type, error) {
	if depth > maxParseDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxParseDepth)
	}
	at := p.i
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	switch lname := strings.ToLower(name); lname {
	case "struct":
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		t := &Type{Kind: spec.TypeStruct}
		seen := map[string]bool{}
		if p.peek('>') {
			p.i++
			return t, nil
		}
		for {
			field, err := p.ident()
			if err != nil {
				return nil, err
			}
			field = strings.ToLower(field)
			if seen[field] {
				return nil, fmt.Errorf("field %q appears twice (names are case-insensitive)", field)
			}
			seen[field] = true
			if err := p.expect(':'); err != nil {
				return nil, err
			}
			child, err := p.parseType(depth + 1)
			if err != nil {
				return nil, err
			}
			t.FieldNames = append(t.FieldNames, field)
			t.Children = append(t.Children, child)
			if p.peek(',') {
				p.i++
				continue
			}
			if err := p.expect('>'); err != nil {
				return nil, err
			}
			return t, nil
		}
	case "array":
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		elem, err := p.parseType(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect('>'); err != nil {
			return nil, err
		}
		return &Type{Kind: spec.TypeList, Children: []*Type{elem}}, nil
	case "map":
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		key, err := p.parseType(depth + 1)
		if err != nil {
			return nil, err
		}
		if !key.isPrimitive() {
			return nil, fmt.Errorf("map key must be a primitive type, not %s", key.Kind)
		}
		if err := p.expect(','); err != nil {
			return nil, err
		}
		val, err := p.parseType(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect('>'); err != nil {
			return nil, err
		}
		return &Type{Kind: spec.TypeMap, Children: []*Type{key, val}}, nil
	case "varchar", "char":
		kind, limit := spec.TypeVarchar, maxVarcharLength
		if lname == "char" {
			kind, limit = spec.TypeChar, maxCharLength
		}
		if err := p.expect('('); err != nil {
			return nil, err
		}
		n, err := p.number()
		if err != nil {
			return nil, err
		}
		if n < 1 || n > limit {
			return nil, fmt.Errorf("%s length %d out of range 1..%d", lname, n, limit)
		}
		if err := p.expect(')'); err != nil {
			return nil, err
		}
		return &Type{Kind: kind, MaxLength: n}, nil
	case "decimal", "numeric":
		t := &Type{Kind: spec.TypeDecimal, Precision: defaultPrecision, Scale: defaultScale}
		if p.peek('(') {
			p.i++
			prec, err := p.number()
			if err != nil {
				return nil, err
			}
			scale := 0
			if p.peek(',') {
				p.i++
				if scale, err = p.number(); err != nil {
					return nil, err
				}
			}
			if err := p.expect(')'); err != nil {
				return nil, err
			}
			if prec < 1 || prec > maxDecimalPrecision {
				return nil, fmt.Errorf("decimal precision %d out of range 1..%d", prec, maxDecimalPrecision)
			}
			if scale > prec {
				return nil, fmt.Errorf("decimal scale %d larger than precision %d", scale, prec)
			}
			t.Precision, t.Scale = prec, scale
		}
		return t, nil
	default:
		kind, ok := primitiveKinds[lname]
		if !ok {
			return nil, fmt.Errorf("unknown type %q at offset %d", name, at)
		}
		return &Type{Kind: kind}, nil
	}
}

func (t *Type) isPrimitive() bool {
	switch t.Kind {
	case spec.TypeStruct, spec.TypeList, spec.TypeMap, spec.TypeUnion:
		return false
	}
	return true
}

func (t *Type) assignIDs(next int) int {
	t.ID = next
	next++
	for _, c := range t.Children {
		next = c.assignIDs(next)
	}
	t.MaxID = next - 1
	return next
}

// maxFooterDepth bounds how deeply types may nest, so that a hostile footer
// can't make the recursive decoders exhaust the stack.
const maxFooterDepth = 1000

// FromFooter turns the flattened type list of a file's footer into a tree
// and checks that it is a proper pre-order tree: every id used once,
// children after parents. Errors wrap spec.ErrCorrupt.
func FromFooter(types []spec.Type) (*Type, error) {
	if len(types) == 0 {
		return nil, fmt.Errorf("%w: footer has no types", spec.ErrCorrupt)
	}
	nodes := make([]*Type, len(types))
	var build func(id, depth int) (*Type, error)
	next := 0 // the id the pre-order walk expects next
	build = func(id, depth int) (*Type, error) {
		if depth > maxFooterDepth {
			return nil, fmt.Errorf("%w: schema nests deeper than %d", spec.ErrCorrupt, maxFooterDepth)
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

// String renders the type in Hive syntax, e.g.
// struct<a:int,b:array<string>>, as Parse accepts it: a field name with
// other characters than letters, digits and _ is quoted in backticks (a
// backtick in it doubled).
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
			if name := t.FieldNames[i]; isPlainName(name) {
				b.WriteString(name)
			} else {
				b.WriteByte('`')
				b.WriteString(strings.ReplaceAll(name, "`", "``"))
				b.WriteByte('`')
			}
			b.WriteByte(':')
			c.write(b)
		}
		b.WriteByte('>')
	case spec.TypeList, spec.TypeMap, spec.TypeUnion:
		b.WriteString(t.Kind.String()) // array, map, uniontype
		b.WriteByte('<')
		for i, c := range t.Children {
			if i > 0 {
				b.WriteByte(',')
			}
			c.write(b)
		}
		b.WriteByte('>')
	case spec.TypeVarchar, spec.TypeChar:
		fmt.Fprintf(b, "%s(%d)", t.Kind, t.MaxLength)
	case spec.TypeDecimal:
		fmt.Fprintf(b, "decimal(%d,%d)", t.Precision, t.Scale)
	default:
		b.WriteString(t.Kind.String())
	}
}

func isPlainName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i]) {
			return false
		}
	}
	return s != ""
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

// columns lists the tree in column-id order.
func (t *Type) columns(dst []*Type) []*Type {
	dst = append(dst, t)
	for _, c := range t.Children {
		dst = c.columns(dst)
	}
	return dst
}

// Footer is the schema as a footer lists it, FromFooter's inverse.
func (t *Type) Footer() []spec.Type {
	cols := t.columns(nil)
	out := make([]spec.Type, len(cols))
	for i, c := range cols {
		ft := spec.Type{Kind: c.Kind}
		for _, ch := range c.Children {
			ft.Subtypes = append(ft.Subtypes, uint32(ch.ID))
		}
		ft.FieldNames = append(ft.FieldNames, c.FieldNames...)
		switch c.Kind {
		case spec.TypeVarchar, spec.TypeChar:
			ft.MaximumLength = uint32(c.MaxLength)
		case spec.TypeDecimal:
			ft.Precision, ft.Scale = uint32(c.Precision), uint32(c.Scale)
		}
		keys := make([]string, 0, len(c.Attributes))
		for k := range c.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft.Attributes = append(ft.Attributes, spec.StringPair{Key: k, Value: c.Attributes[k]})
		}
		out[i] = ft
	}
	return out
}
