package hive_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/landfall/landfall/hive"
)

func TestDDL(t *testing.T) {
	head := "CREATE EXTERNAL TABLE IF NOT EXISTS `logs`.`clicks` (\n" +
		"  `ts` bigint,\n" +
		"  `user` string COMMENT 'user id',\n" +
		"  `tags` array<string>,\n" +
		"  `price` decimal(10,2)\n" +
		")\n" +
		"PARTITIONED BY (\n" +
		"  `log_date` string,\n" +
		"  `log_hour` string\n" +
		")\n"
	loc := "LOCATION 'hdfs://nn:8020/warehouse/logs/clicks'"
	cases := map[string]string{
		"orc": head + "STORED AS ORC\n" + loc + "\nTBLPROPERTIES (\"orc.compress\"=\"ZSTD\");\n",
		"lzo": head + "STORED AS INPUTFORMAT 'com.hadoop.mapred.DeprecatedLzoTextInputFormat'\n" +
			"  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n" + loc + ";\n",
		"text": head + "STORED AS TEXTFILE\n" + loc + ";\n",
	}
	for format, want := range cases {
		got, err := hive.DDL(clicksSpec(format))
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if got != want {
			t.Errorf("DDL(%s) =\n%s\nwant\n%s", format, got, want)
		}
	}
}

func TestDDLSerDe(t *testing.T) {
	spec := clicksSpec(hive.FormatLZO)
	spec.SerDe = "org.apache.hive.hcatalog.data.JsonSerDe"
	spec.SerDeParams = map[string]string{"ignore.malformed.json": "true"}
	got, err := hive.DDL(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := ")\nROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n" +
		"WITH SERDEPROPERTIES (\"ignore.malformed.json\"=\"true\")\n" +
		"STORED AS INPUTFORMAT 'com.hadoop.mapred.DeprecatedLzoTextInputFormat'\n"
	if !strings.Contains(got, want) {
		t.Errorf("DDL =\n%s\nlacks\n%s", got, want)
	}
	ht, err := spec.HiveTable()
	if err != nil {
		t.Fatal(err)
	}
	if ht.Sd.SerdeInfo.SerializationLib != spec.SerDe || ht.Sd.SerdeInfo.Parameters["ignore.malformed.json"] != "true" {
		t.Errorf("HiveTable serde = %+v", ht.Sd.SerdeInfo)
	}
	spec.Format = hive.FormatORC
	if _, err := hive.DDL(spec); err == nil {
		t.Error("DDL accepted an ORC table with a JSON serde")
	}
}

func TestDDLRejectsBadSpec(t *testing.T) {
	spec := clicksSpec("parquet")
	spec.Location = ""
	_, err := hive.DDL(spec)
	if err == nil || !hive.IsPermanent(err) {
		t.Fatalf("DDL of a bad spec = %v; want a permanent error", err)
	}
	for _, want := range []string{"format \"parquet\"", "location is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if errors.Is(err, hive.ErrNotFound) {
		t.Error("unexpected sentinel")
	}
}

// TestDDLLzoAsText: an lzo table for readers without hadoop-lzo is plain
// TextInputFormat, in the statement and in the metastore object, and Check
// accepts it only for a config that writes no .lzo.index.
func TestDDLLzoAsText(t *testing.T) {
	spec := clicksSpec(hive.FormatLZO)
	spec.LzoAsText = true
	got, err := hive.DDL(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'\n" +
		"  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n"
	if !strings.Contains(got, want) || strings.Contains(got, "Lzo") {
		t.Errorf("DDL =\n%s\nwant plain TextInputFormat:\n%s", got, want)
	}
	ht, err := spec.HiveTable()
	if err != nil {
		t.Fatal(err)
	}
	if ht.Sd.InputFormat != hive.TextInputFormat {
		t.Errorf("HiveTable input format = %s, want %s", ht.Sd.InputFormat, hive.TextInputFormat)
	}
	textTable := &hive.Table{Database: "logs", Name: "clicks", Location: spec.Location, InputFormat: hive.TextInputFormat,
		SerDe: hive.LazySimpleSerDe, Columns: spec.Columns}
	lzoTable := *textTable
	lzoTable.InputFormat = hive.LzoInputFormat
	if err := hive.Check(textTable, hive.Expect{Format: hive.FormatLZO, LzoAsText: true}); err != nil {
		t.Errorf("Check(TextInputFormat table, lzo as text) = %v, want nil", err)
	}
	if err := hive.Check(&lzoTable, hive.Expect{Format: hive.FormatLZO}); err != nil {
		t.Errorf("Check(hadoop-lzo table, lzo) = %v, want nil", err)
	}
	for name, c := range map[string]struct {
		tbl  *hive.Table
		want hive.Expect
	}{
		"text table, config writes the index":  {textTable, hive.Expect{Format: hive.FormatLZO}},
		"hadoop-lzo table, config writes none": {&lzoTable, hive.Expect{Format: hive.FormatLZO, LzoAsText: true}},
	} {
		var me *hive.MismatchError
		if err := hive.Check(c.tbl, c.want); !errors.As(err, &me) || me.Key != "format.lzo_input_format" {
			t.Errorf("%s: Check = %v, want a mismatch of format.lzo_input_format", name, err)
		}
	}
}
