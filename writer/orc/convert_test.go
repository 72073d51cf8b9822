package orc

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/landfall/landfall/writer"
)

// TestConversions pins down how JSON values become column values, and
// which ones reject the record, for one column at a time.
func TestConversions(t *testing.T) {
	cases := []struct {
		typ  string
		json string
		want string // canonical value (see gen_test.go), or "reject"
	}{
		{"boolean", `true`, `true`},
		{"boolean", `"FALSE"`, `false`},
		{"boolean", `1`, "reject"},
		{"tinyint", `127`, `127`},
		{"tinyint", `128`, "reject"},
		{"tinyint", `"-128"`, `-128`},
		{"smallint", `-32769`, "reject"},
		{"int", `2147483647`, `2147483647`},
		{"int", `1e3`, `1000`},
		{"int", `1.5`, "reject"},
		{"int", `"12x"`, "reject"},
		{"bigint", `-9223372036854775808`, `-9223372036854775808`},
		{"bigint", `9223372036854775808`, "reject"},
		{"bigint", `{"a":1}`, "reject"},
		{"double", `0.1`, `0.1`},
		{"double", `"2.5e-3"`, `0.0025`},
		{"double", `"abc"`, "reject"},
		{"float", `0.1`, `0.1`},
		{"string", `"a\"b\u00e9"`, `"a\"bé"`},
		{"string", `12.50`, `"12.50"`},
		{"string", `{"x":[1,2]}`, `"{\"x\":[1,2]}"`},
		{"varchar(3)", `"héllo"`, `"hél"`},
		{"char(4)", `"ab"`, `"ab"`},
		{"binary", `"AQID"`, `010203`},
		{"binary", `"!!"`, "reject"},
		{"binary", `5`, "reject"},
		{"timestamp", `"2024-02-29 23:59:59.123456789"`, `1709251199.123456789`},
		{"timestamp", `"2024-02-29T23:59:59+01:00"`, `1709247599.000000000`},
		{"timestamp", `"2024-02-29T23:59:59.5Z"`, `1709251199.500000000`},
		{"timestamp", `1709251199123`, `1709251199.123000000`},
		{"timestamp", `-1001`, `-2.999000000`},
		{"timestamp", `"1969-12-31 23:59:59.0001"`, `-1.000100000`},
		{"timestamp", `-1`, "reject"}, // readers would see 00:00:00.999
		{"timestamp", `"2023-02-29 00:00:00"`, "reject"},
		{"timestamp", `"yesterday"`, "reject"},
		{"date", `"1969-12-31"`, `-1`},
		{"date", `19000`, `19000`},
		{"date", `"2024-13-01"`, "reject"},
		{"decimal(5,2)", `123.455`, `123.46`},
		{"decimal(5,2)", `"-123.454"`, `-123.45`},
		{"decimal(5,2)", `999.995`, "reject"},
		{"decimal(5,2)", `1234`, "reject"},
		{"decimal(5,2)", `1.5e2`, `150`},
		{"decimal(38,0)", `"99999999999999999999999999999999999999"`, `99999999999999999999999999999999999999`},
		{"decimal(38,0)", `"100000000000000000000000000000000000000"`, "reject"},
		{"array<int>", `[1,null,3]`, `[1,null,3]`},
		{"array<int>", `[1,"x"]`, "reject"},
		{"map<int,string>", `{"7":"a","-1":"b"}`, `{7:"a",-1:"b"}`},
		{"map<int,string>", `{"x":"a"}`, "reject"},
		{"struct<A:int,b:string>", `{"a":1,"B":"x","extra":true}`, `{1,"x"}`},
		{"struct<a:int>", `[]`, "reject"},
	}
	for _, c := range cases {
		schema, err := ParseSchema("struct<v:" + c.typ + ">")
		if err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		var buf bytes.Buffer
		w, err := NewWriter(&buf, schema)
		if err != nil {
			t.Fatal(err)
		}
		err = w.Append([]byte(`{"v":` + c.json + `}`))
		if c.want == "reject" {
			var re *writer.RecordError
			if !errors.As(err, &re) || !strings.HasPrefix(re.Reason, `column "v`) {
				t.Errorf("%s %s: got %v, want a rejection naming the column", c.typ, c.json, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", c.typ, c.json, err)
			continue
		}
		if err := w.Close(nil); err != nil {
			t.Fatal(err)
		}
		rows := readAll(t, buf.Bytes(), schema)
		if len(rows) != 1 || rows[0] != "{"+c.want+"}" {
			t.Errorf("%s %s: read %v, want {%s}", c.typ, c.json, rows, c.want)
		}
	}
}

func TestParseSchemaErrors(t *testing.T) {
	for _, s := range []string{"", "int", "struct<a:int", "struct<a:int,A:string>", "struct<a:decimal(39,0)>",
		"struct<a:decimal(5,6)>", "struct<a:varchar(0)>", "struct<a:char(256)>", "struct<a:map<array<int>,int>>",
		"struct<a:whatever>", "struct<a:int>x", "struct<`a:int>", strings.Repeat("struct<a:", 200) + "int" + strings.Repeat(">", 200)} {
		if _, err := ParseSchema(s); err == nil {
			t.Errorf("ParseSchema(%.40q) succeeded", s)
		} else if !strings.HasPrefix(err.Error(), "orc: parse schema") {
			t.Errorf("ParseSchema(%.40q): error %q lacks the prefix", s, err)
		}
	}
	typ, err := ParseSchema("STRUCT< Ts : BIGINT , `Odd Name`:array<map<string,decimal>> >")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := typ.String(), "struct<ts:bigint,`odd name`:array<map<string,decimal(38,18)>>>"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}
