package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/hive/hivetest"
	"github.com/landfall/landfall/state"
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
	if err := createTable(cfg, slog.New(slog.DiscardHandler)); err != nil {
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
	if err := createTable(cfg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("create of an existing, matching table: %v", err)
	}
	cfg.Format.Name, cfg.Format.Schema = "lzo", ""
	if err := createTable(cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "format.name") {
		t.Fatalf("create over a table of another format: %v, want an error naming format.name", err)
	}
}

// TestStartDuringMetastoreOutage: an ORC table's schema comes from the
// metastore; a start while the metastore is down writes with the schema
// as read at an earlier start (kept in etcd) rather than refusing to run,
// and refuses, naming format.schema, when no start ever read it.
func TestStartDuringMetastoreOutage(t *testing.T) {
	srv := hivetest.New(t)
	e, err := state.StartEmbedded(t.TempDir(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{e.URL()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	config := func(logid string) *committer.Config {
		cfg, err := committer.ParseConfig([]byte(`
logid: ` + logid + `
kafka: {brokers: ["127.0.0.1:9092"], topic: clicks}
etcd: {endpoints: ["127.0.0.1:2379"]}
warehouse: {uri: "file:///tmp/warehouse/clicks"}
hive: {database: ods, table: clicks, metastore: {uris: ["` + srv.URI() + `"], connect_timeout: 200ms, retry: {attempts: 2, initial_backoff: 10ms}}}
format: {name: orc}
event_time: {field: ts}
`))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	c, err := hive.NewClient(config("x").Hive.Metastore)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const schema = "struct<ts:bigint,id:string,status:int>"
	if err := c.CreateDatabase(ctx, "ods", "file:///tmp/warehouse"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTable(ctx, hive.TableSpec{Database: "ods", Table: "clicks", Location: "file:///tmp/warehouse/clicks", Format: "orc",
		Columns:       []hive.Column{{Name: "ts", Type: "bigint"}, {Name: "id", Type: "string"}, {Name: "status", Type: "int"}},
		PartitionKeys: []hive.Column{{Name: "log_date", Type: "string"}, {Name: "log_hour", Type: "string"}}}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	cfg := config("clicks")
	if err := checkTable(ctx, c, cfg, newTableCache(cli, cfg), log); err != nil {
		t.Fatalf("start with the metastore up: %v", err)
	}
	if cfg.Format.Schema != schema {
		t.Fatalf("schema from the table %q, want %q", cfg.Format.Schema, schema)
	}

	srv.Down()
	cfg = config("clicks")
	if err := checkTable(ctx, c, cfg, newTableCache(cli, cfg), log); err != nil {
		t.Fatalf("start with the metastore down after an earlier start: %v", err)
	}
	if cfg.Format.Schema != schema {
		t.Fatalf("schema while the metastore is down %q, want the table's %q", cfg.Format.Schema, schema)
	}
	other := config("views")
	if err := checkTable(ctx, c, other, newTableCache(cli, other), log); err == nil || !strings.Contains(err.Error(), "format.schema") {
		t.Fatalf("first start ever with the metastore down: %v, want an error naming format.schema", err)
	}
}
