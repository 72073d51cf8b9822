package hive_test

import (
	"errors"
	"strings"
	"testing"

	hms "github.com/beltran/gohive/hive_metastore"
	"github.com/landfall/landfall/hive"
)

func TestLoadTableFormatAndSchema(t *testing.T) {
	for _, format := range []string{hive.FormatORC, hive.FormatLZO, hive.FormatText} {
		t.Run(format, func(t *testing.T) {
			_, c := setup(t, format)
			tbl, err := c.LoadTable(ctxT(t), "logs", "clicks")
			if err != nil {
				t.Fatal(err)
			}
			got, err := tbl.Format()
			if err != nil || got != format {
				t.Fatalf("Format() = %q, %v; want %q", got, err, format)
			}
			if s, want := tbl.Schema(), "struct<ts:bigint,user:string,tags:array<string>,price:decimal(10,2)>"; s != want {
				t.Errorf("Schema() = %q, want %q", s, want)
			}
			if tbl.Location != "hdfs://nn:8020/warehouse/logs/clicks" {
				t.Errorf("Location = %q", tbl.Location)
			}
			if len(tbl.PartitionKeys) != 2 || tbl.PartitionKeys[0].Name != "log_date" || tbl.PartitionKeys[1].Name != "log_hour" {
				t.Errorf("PartitionKeys = %+v", tbl.PartitionKeys)
			}
			if tbl.Type != "EXTERNAL_TABLE" {
				t.Errorf("Type = %q", tbl.Type)
			}
			if format == hive.FormatORC && tbl.Parameters["orc.compress"] != "ZSTD" {
				t.Errorf("orc.compress = %q", tbl.Parameters["orc.compress"])
			}
			if err := hive.Check(tbl, hive.Expect{Format: format, PartitionKeys: []string{"log_date", "log_hour"}}); err != nil {
				t.Errorf("Check of a matching table: %v", err)
			}
		})
	}
}

func TestLoadTableUnsupportedFormat(t *testing.T) {
	srv, c := setup(t, hive.FormatORC)
	srv.PutTable(&hms.Table{DbName: "logs", TableName: "pq", TableType: "EXTERNAL_TABLE", Sd: &hms.StorageDescriptor{
		Cols:        []*hms.FieldSchema{{Name: "a", Type: "int"}},
		Location:    "hdfs://nn/pq",
		InputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
		SerdeInfo:   &hms.SerDeInfo{SerializationLib: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
	}})
	tbl, err := c.LoadTable(ctxT(t), "logs", "pq")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tbl.Format()
	if !errors.Is(err, hive.ErrUnsupportedFormat) || !hive.IsPermanent(err) || !strings.Contains(err.Error(), "MapredParquetInputFormat") {
		t.Fatalf("Format() error = %v; want permanent ErrUnsupportedFormat naming the input format", err)
	}
	if err := hive.Check(tbl, hive.Expect{}); !errors.Is(err, hive.ErrMismatch) {
		t.Fatalf("Check = %v, want ErrMismatch", err)
	}
}

func TestLoadTableNotFound(t *testing.T) {
	srv, c := setup(t, hive.FormatORC)
	_, err := c.LoadTable(ctxT(t), "logs", "nope")
	if !errors.Is(err, hive.ErrNotFound) || !hive.IsPermanent(err) {
		t.Fatalf("LoadTable of a missing table = %v; want permanent ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "logs.nope") || !strings.Contains(err.Error(), "ddl") {
		t.Errorf("error should name the table and the fix: %v", err)
	}
	if n := srv.Calls("get_table_req"); n != 1 {
		t.Errorf("get_table_req called %d times; a permanent error must not be retried", n)
	}
}

func TestCheckMismatches(t *testing.T) {
	_, c := setup(t, hive.FormatORC)
	tbl, err := c.LoadTable(ctxT(t), "logs", "clicks")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		want hive.Expect
		key  string
		msgs []string
	}{
		{"lzo configured, table is orc", hive.Expect{Format: "lzo", FormatKey: "writer.format"}, "writer.format", []string{"ORC", `"lzo"`, "writer.format: orc"}},
		{"table key the pattern lacks", hive.Expect{PartitionKeys: []string{"log_date"}}, "partition.pattern", []string{`"log_hour"`, "does not produce"}},
		{"pattern key the table lacks", hive.Expect{PartitionKeys: []string{"log_date", "log_hour", "region"}}, "partition.pattern", []string{`"region"`, "has no partition key"}},
		{"key order", hive.Expect{PartitionKeys: []string{"log_hour", "log_date"}, PartitionKeyKey: "writer.partition"}, "writer.partition", []string{"order", "log_date=…/log_hour=…"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := hive.Check(tbl, tc.want)
			var me *hive.MismatchError
			if !errors.As(err, &me) || !errors.Is(err, hive.ErrMismatch) || !hive.IsPermanent(err) {
				t.Fatalf("Check = %v; want a permanent *MismatchError", err)
			}
			if me.Key != tc.key || !strings.HasPrefix(err.Error(), tc.key+": ") {
				t.Errorf("error names key %q, want %q: %v", me.Key, tc.key, err)
			}
			for _, m := range tc.msgs {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
		})
	}

	acid := *tbl
	acid.Parameters = map[string]string{"transactional": "true"}
	if err := hive.Check(&acid, hive.Expect{}); err == nil || !strings.Contains(err.Error(), "transactional") {
		t.Errorf("Check of an ACID table = %v; want an error about transactional", err)
	}
}

func TestSchemaQuotesOddNames(t *testing.T) {
	tbl := &hive.Table{Columns: []hive.Column{{Name: "a b", Type: "int"}, {Name: "ok_1", Type: "map<string,int>"}}}
	if s, want := tbl.Schema(), "struct<`a b`:int,ok_1:map<string,int>>"; s != want {
		t.Errorf("Schema() = %q, want %q", s, want)
	}
}
