package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
)

// TestRunRefusesAnotherFormatOverWrittenFiles: a table directory that
// landfall wrote as text refuses an orc start, naming both formats, before
// it writes anything (issue 16 item 1: the quickstart's second run with
// --format orc wrote ORC files beside the first run's text files).
func TestRunRefusesAnotherFormatOverWrittenFiles(t *testing.T) {
	cluster, etcd := services(t)
	warehouse := t.TempDir()
	config := func(logid, format string) *committer.Config {
		cfg, err := committer.ParseConfig(fmt.Appendf(nil, `
logid: %s
kafka: {brokers: [%s], topic: logs}
etcd: {endpoints: [%s], lease_ttl: 2s}
warehouse: {uri: "file://%s"}
format: {name: %s, schema: "struct<ts:bigint,msg:string>"}
event_time: {field: ts}
`, logid, cluster.ListenAddrs()[0], etcd.URL(), warehouse, format))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runUntilConsuming := func(cfg *committer.Config) error {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		consuming := make(chan struct{})
		go func() {
			done <- run(ctx, cfg, log, func(p *committer.Pipeline) {
				go func() {
					for !p.Progress().Consuming {
						time.Sleep(10 * time.Millisecond)
					}
					close(consuming)
				}()
			})
		}()
		select {
		case err := <-done:
			return err
		case <-consuming:
			cancel()
			<-done
			return nil
		case <-time.After(20 * time.Second):
			t.Fatal("run neither failed nor consumed within 20s")
			return nil
		}
	}
	if err := runUntilConsuming(config("logs", "text")); err != nil {
		t.Fatalf("first start (text): %v", err)
	}
	// The same logid, then another logid over the same directory.
	for _, logid := range []string{"logs", "other"} {
		err := runUntilConsuming(config(logid, "orc"))
		if err == nil {
			t.Fatalf("logid %s: an orc start over a text table consumed", logid)
		}
		if msg := err.Error(); !strings.Contains(msg, "format.name") || !strings.Contains(msg, `"orc"`) || !strings.Contains(msg, `"text"`) {
			t.Fatalf("logid %s: error %q does not name format.name, orc and text", logid, msg)
		}
	}
	// The format it was written in still starts.
	if err := runUntilConsuming(config("logs", "text")); err != nil {
		t.Fatalf("text again: %v", err)
	}
}
