package orc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/landfall/landfall/writer/orc/spec"
)

// Type is a node of a table schema. Columns are numbered by a pre-order walk
// of the tree, the root (always a struct) being column 0, as the ORC footer
// lists them.
type Type struct {
	Kind       spec.TypeKind
	Children   []*Type  // struct fields, list element, map key and value
	FieldNames []string // struct only, lower case as Hive stores them
	MaxLength  int      // varchar and char
	Precision  int      // decimal
	Scale      int      // decimal
	ID         int      // column id
}

const (
	maxDecimalPrecision = 38
	defaultPrecision    = 38
	defaultScale        = 18
	maxVarcharLength    = 65535
	maxCharLength       = 255
	maxSchemaDepth      = 100
)

// ParseSchema parses a Hive type string such as
// "struct<ts:bigint,level:string,tags:map<string,string>>". The top level
// must be a struct: its fields are the table's columns. Field names are
// matched case-insensitively like Hive does, so they are stored lower case;
// two fields that differ only in case are an error.
func ParseSchema(s string) (*Type, error) {
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
		end := strings.IndexByte(p.s[p.i+1:], '`')
		if end < 0 {
			return "", fmt.Errorf("unterminated ` at offset %d", p.i)
		}
		name := p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
		if name == "" {
			return "", fmt.Errorf("empty name at offset %d", p.i)
		}
		return name, nil
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
	if depth > maxSchemaDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxSchemaDepth)
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
	return next
}

// String renders the type in Hive syntax, as ParseSchema accepts it.
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
			name := t.FieldNames[i]
			if !isPlainName(name) {
				name = "`" + name + "`"
			}
			b.WriteString(name)
			b.WriteByte(':')
			c.write(b)
		}
		b.WriteByte('>')
	case spec.TypeList:
		b.WriteString("array<")
		t.Children[0].write(b)
		b.WriteByte('>')
	case spec.TypeMap:
		b.WriteString("map<")
		t.Children[0].write(b)
		b.WriteByte(',')
		t.Children[1].write(b)
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

// columns lists the tree in column-id order.
func (t *Type) columns(dst []*Type) []*Type {
	dst = append(dst, t)
	for _, c := range t.Children {
		dst = c.columns(dst)
	}
	return dst
}

// footerTypes is the schema as the footer lists it.
func (t *Type) footerTypes() []spec.Type {
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
		out[i] = ft
	}
	return out
}
