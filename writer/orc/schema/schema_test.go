package schema

import (
	"errors"
	"testing"

	"github.com/landfall/landfall/writer/orc/spec"
)

// TestOneStringForWriterAndReader: a schema parsed for the writer, written
// to a footer and read back as the reader does prints the same, and that
// form parses back to it — also with field names that need quoting, which
// the reader used to print bare.
func TestOneStringForWriterAndReader(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"struct<a:int,b:array<string>>", "struct<a:int,b:array<string>>"},
		{"struct<TS:bigint, m:map<string,decimal(10,2)>, s:struct<v:varchar(5),c:char(3)>>",
			"struct<ts:bigint,m:map<string,decimal(10,2)>,s:struct<v:varchar(5),c:char(3)>>"},
		{"struct<`a b`:int,`x-y`:array<struct<`q.r`:date>>>", "struct<`a b`:int,`x-y`:array<struct<`q.r`:date>>>"},
		{"struct<`a``b`:int>", "struct<`a``b`:int>"},
		{"struct<d:decimal>", "struct<d:decimal(38,18)>"},
	} {
		parsed, err := Parse(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := parsed.String(); got != c.want {
			t.Errorf("Parse(%s).String() = %s, want %s", c.in, got, c.want)
		}
		read, err := FromFooter(parsed.Footer())
		if err != nil {
			t.Fatalf("%s: read footer: %v", c.in, err)
		}
		if got := read.String(); got != c.want {
			t.Errorf("%s: read from the footer it prints %s, want %s", c.in, got, c.want)
		}
		again, err := Parse(c.want)
		if err != nil || again.String() != c.want {
			t.Errorf("%s does not parse back to itself: %v, %v", c.want, again, err)
		}
		if parsed.MaxID != len(parsed.Footer())-1 || read.MaxID != parsed.MaxID {
			t.Errorf("%s: MaxID %d parsed, %d read, want %d", c.in, parsed.MaxID, read.MaxID, len(parsed.Footer())-1)
		}
	}
}

// TestFromFooterKinds: what only files have — unions, unnamed Hive 0.11
// fields and decimals, attributes — reads and prints, and a type list that
// is not a pre-order tree is corrupt.
func TestFromFooterKinds(t *testing.T) {
	types := []spec.Type{
		{Kind: spec.TypeStruct, Subtypes: []uint32{1, 4}},
		{Kind: spec.TypeUnion, Subtypes: []uint32{2, 3}},
		{Kind: spec.TypeInt},
		{Kind: spec.TypeString},
		{Kind: spec.TypeDecimal, Attributes: []spec.StringPair{{Key: "iceberg.id", Value: "7"}}},
	}
	tp, err := FromFooter(types)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tp.String(), "struct<_col0:uniontype<int,string>,_col1:decimal(38,6)>"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if tp.Field("_col1").Attributes["iceberg.id"] != "7" {
		t.Errorf("attributes %v", tp.Field("_col1").Attributes)
	}
	if got := tp.Footer()[4].Attributes; len(got) != 1 || got[0].Key != "iceberg.id" {
		t.Errorf("footer attributes %v", got)
	}
	types[0].Subtypes = []uint32{4, 1}
	if _, err := FromFooter(types); !errors.Is(err, spec.ErrCorrupt) {
		t.Errorf("out of pre-order: %v, want spec.ErrCorrupt", err)
	}
}
