package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/hive/hivetest"
)

// TestHiveCreate creates the table of a config through the metastore, and
// checks that it is the table `hive ddl` prints and that run would accept;
// a second create accepts the table, one from a disagreeing config fails
// naming the key.
func TestHiveCreate(t *testing.T) {
	srv := hivetest.New(t)
	cfg, err := committer.ParseConfig([]byte(`
logid: clicks
kafka: {brokers: ["127.0.0.1:9092"], topic: clicks}
etcd: {endpoints: ["127.0.0.1:2379"]}
warehouse: {uri: "file:///tmp/warehouse/clicks"}
hive: {database: ods, table: clicks, metastore: {uris: ["` + srv.URI() + `"]}}
format: {name: orc, schema: "struct<ts:bigint,id:string,status:int>"}
event_time: {field: ts}
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := hive.NewClient(cfg.Hive.Metastore)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.CreateDatabase(ctx, "ods", "file:///tmp/warehouse"); err != nil {
		t.Fatal(err)
	}
	if err := createTable(cfg); err != nil {
		t.Fatalf("create: %v", err)
	}
	tbl, err := c.LoadTable(ctx, "ods", "clicks")
	if err != nil {
		t.Fatal(err)
	}
	if err := matchTable(tbl, cfg); err != nil {
		t.Fatalf("created table does not match its config: %v", err)
	}
	if got := tbl.Schema(); got != cfg.Format.Schema {
		t.Errorf("table schema %s, config %s", got, cfg.Format.Schema)
	}
	ddl, err := tableDDL(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"`ts` bigint", "`id` string", "`status` int", "`log_date` string", "`log_hour` string"} {
		if !strings.Contains(ddl, col) {
			t.Errorf("ddl lacks %s:\n%s", col, ddl)
		}
	}
	if err := createTable(cfg); err != nil {
		t.Fatalf("create of an existing, matching table: %v", err)
	}
	cfg.Format.Name, cfg.Format.Schema = "lzo", ""
	if err := createTable(cfg); err == nil || !strings.Contains(err.Error(), "format.name") {
		t.Fatalf("create over a table of another format: %v, want an error naming format.name", err)
	}
}
