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
