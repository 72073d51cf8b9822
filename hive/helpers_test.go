package hive_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/hive/hivetest"
)

// fastRetry keeps retry tests quick; the outage tests raise Attempts.
var fastRetry = hive.RetryConfig{Attempts: 3, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}

func newClient(t *testing.T, cfg hive.MetastoreConfig, opts ...hive.Option) *hive.Client {
	t.Helper()
	if cfg.Retry == (hive.RetryConfig{}) {
		cfg.Retry = fastRetry
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = 2 * time.Second
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = time.Second
	}
	opts = append([]hive.Option{hive.WithLogger(testLogger(t))}, opts...)
	c, err := hive.NewClient(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close client: %v", err)
		}
	})
	return c
}

// testLogger sends logs to the test's output, shown only when it fails.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func clicksSpec(format string) hive.TableSpec {
	return hive.TableSpec{
		Database: "logs",
		Table:    "clicks",
		Columns: []hive.Column{
			{Name: "ts", Type: "bigint"},
			{Name: "user", Type: "string", Comment: "user id"},
			{Name: "tags", Type: "array<string>"},
			{Name: "price", Type: "decimal(10,2)"},
		},
		PartitionKeys: []hive.Column{{Name: "log_date", Type: "string"}, {Name: "log_hour", Type: "string"}},
		Location:      "hdfs://nn:8020/warehouse/logs/clicks",
		Format:        format,
	}
}

// setup starts a metastore with database logs and the clicks table.
func setup(t *testing.T, format string) (*hivetest.Server, *hive.Client) {
	t.Helper()
	srv := hivetest.New(t)
	c := newClient(t, hive.MetastoreConfig{URIs: []string{srv.URI()}})
	ctx := ctxT(t)
	if err := c.CreateDatabase(ctx, "logs", "hdfs://nn:8020/warehouse/logs"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTable(ctx, clicksSpec(format)); err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func commit(date, hour string, files, rows, size int64) hive.Partition {
	ct := time.Date(2026, 11, 21, 14, 5, 0, 0, time.UTC)
	return hive.Partition{
		Database:   "logs",
		Table:      "clicks",
		Keys:       []string{"log_date", "log_hour"},
		Values:     []string{date, hour},
		Path:       "log_date=" + date + "/log_hour=" + hour,
		Location:   "hdfs://nn:8020/warehouse/logs/clicks/log_date=" + date + "/log_hour=" + hour,
		NumFiles:   files,
		NumRows:    rows,
		TotalSize:  size,
		Watermark:  ct.Add(-5 * time.Minute),
		CommitTime: ct,
		Offsets:    map[int32][2]int64{0: {100, 199}, 1: {40, 80}},
		Key:        "clicks/" + date + "/" + hour + "/1",
	}
}
