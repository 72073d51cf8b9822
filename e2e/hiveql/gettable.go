//go:build ignore

// gettable prints what the metastore holds for tables, through landfall's own
// metastore client, so that selftest.sh can check what Hive created from
// both sides:
//
//	go run ./e2e/hiveql/gettable.go thrift://127.0.0.1:PORT db.table...
//
// One line per table: name, table type, input format, output format, serde,
// the columns (name:type, comma-separated), the partition keys, the
// location, and orc.compress if set, separated by tabs.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/landfall/landfall/hive"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: go run gettable.go thrift://HOST:PORT db.table...")
		os.Exit(2)
	}
	c, err := hive.NewClient(hive.MetastoreConfig{URIs: []string{os.Args[1]}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gettable:", err)
		os.Exit(1)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range os.Args[2:] {
		db, table, ok := strings.Cut(name, ".")
		if !ok {
			fmt.Fprintf(os.Stderr, "gettable: %q is not db.table\n", name)
			os.Exit(2)
		}
		t, err := c.GetTable(ctx, db, table)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gettable:", err)
			os.Exit(1)
		}
		sd := t.GetSd()
		var cols, keys []string
		for _, f := range sd.GetCols() {
			cols = append(cols, f.GetName()+":"+f.GetType())
		}
		for _, f := range t.GetPartitionKeys() {
			keys = append(keys, f.GetName()+":"+f.GetType())
		}
		fmt.Println(strings.Join([]string{
			t.GetDbName() + "." + t.GetTableName(),
			t.GetTableType(),
			sd.GetInputFormat(),
			sd.GetOutputFormat(),
			sd.GetSerdeInfo().GetSerializationLib(),
			strings.Join(cols, ","),
			strings.Join(keys, ","),
			sd.GetLocation(),
			"orc.compress=" + t.GetParameters()["orc.compress"],
		}, "\t"))
	}
}
