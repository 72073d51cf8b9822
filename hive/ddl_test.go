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
