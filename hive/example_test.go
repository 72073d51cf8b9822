package hive_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/hive/hivetest"
)

type noopSuccess struct{}

func (noopSuccess) Name() string                                 { return "success-file" }
func (noopSuccess) Commit(context.Context, hive.Partition) error { return nil }

// How the core wires the package: read the table, derive the writer's
// format and schema, check the table against the config, build the steps.
func Example() {
	ctx := context.Background()
	srv, err := hivetest.Start("127.0.0.1:0") // the quickstart's metastore
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	cfg := hive.Config{
		Database:    "logs",
		Table:       "clicks",
		Metastore:   hive.MetastoreConfig{URIs: []string{srv.URI()}},
		CommitSteps: []string{"metastore", "success-file"},
	}
	if err := cfg.Validate(); err != nil {
		log.Fatal(err)
	}
	client, err := hive.NewClient(cfg.Metastore)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// Only for the example: an operator creates the table with the
	// statement DDL prints.
	spec := hive.TableSpec{
		Database: "logs", Table: "clicks", Format: "orc",
		Columns:       []hive.Column{{Name: "ts", Type: "bigint"}, {Name: "msg", Type: "string"}},
		PartitionKeys: []hive.Column{{Name: "log_date", Type: "string"}, {Name: "log_hour", Type: "string"}},
		Location:      "hdfs://nn/warehouse/logs/clicks",
	}
	if err := client.CreateDatabase(ctx, "logs", ""); err != nil {
		log.Fatal(err)
	}
	if err := client.CreateTable(ctx, spec); err != nil {
		log.Fatal(err)
	}

	table, err := client.LoadTable(ctx, cfg.Database, cfg.Table)
	if err != nil {
		log.Fatal(err) // hive.IsPermanent(err): halt with the message
	}
	format, err := table.Format()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(format, table.Schema())
	if err := hive.Check(table, hive.Expect{Format: "orc", PartitionKeys: []string{"log_date", "log_hour"}}); err != nil {
		log.Fatal(err)
	}

	steps, err := hive.NewSteps(cfg, noopSuccess{}, hive.WithClient(client))
	if err != nil {
		log.Fatal(err)
	}
	defer steps.Close()
	p := hive.Partition{
		Database: "logs", Table: "clicks",
		Keys: []string{"log_date", "log_hour"}, Values: []string{"20261121", "13"},
		Path:     "log_date=20261121/log_hour=13",
		Location: "hdfs://nn/warehouse/logs/clicks/log_date=20261121/log_hour=13",
		NumFiles: 2, NumRows: 10, TotalSize: 1234,
		CommitTime: time.Now(), Key: "clicks/log_date=20261121/log_hour=13/1", Seq: 1,
	}
	for _, s := range steps.List {
		if err := s.Commit(ctx, p); err != nil {
			log.Fatal(err) // the commit queue retries unless hive.IsPermanent(err)
		}
	}
	parts, err := client.ListPartitions(ctx, "logs", "clicks")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(parts), parts[0].Values, parts[0].Parameters["numRows"])
	// Output:
	// orc struct<ts:bigint,msg:string>
	// 1 [20261121 13] 10
}
