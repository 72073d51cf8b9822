//go:build e2e

package hive_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/hive"
)

// TestE2EMetastore runs the metastore client and step against the real Hive
// standalone metastore that e2e/services/hms.sh starts, and restarts that
// metastore in the middle of a run of partition commits.
func TestE2EMetastore(t *testing.T) {
	uri := os.Getenv("LANDFALL_E2E_HMS")
	if uri == "" {
		t.Fatal("LANDFALL_E2E_HMS is not set: run `bash e2e/services/hms.sh start` and source out/e2e/hms.env")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := newClient(t, hive.MetastoreConfig{
		URIs:        []string{uri},
		CallTimeout: 30 * time.Second,
		Retry:       hive.RetryConfig{Attempts: 5, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second},
	})
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	// Names are unique per run: the Derby database outlives runs.
	db := fmt.Sprintf("landfall_e2e_%d", time.Now().UnixNano())
	root := t.TempDir()
	if err := c.CreateDatabase(ctx, db, "file://"+filepath.Join(root, db)); err != nil {
		t.Fatal(err)
	}
	spec := clicksSpec(hive.FormatORC)
	spec.Database = db
	spec.Location = "file://" + filepath.Join(root, "clicks")
	if err := c.CreateTable(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTable(ctx, spec); !errors.Is(err, hive.ErrAlreadyExists) {
		t.Fatalf("creating the table again = %v; want ErrAlreadyExists", err)
	}

	tbl, err := c.LoadTable(ctx, db, "clicks")
	if err != nil {
		t.Fatal(err)
	}
	if f, err := tbl.Format(); err != nil || f != hive.FormatORC {
		t.Fatalf("Format() = %q, %v", f, err)
	}
	if s := tbl.Schema(); s != "struct<ts:bigint,user:string,tags:array<string>,price:decimal(10,2)>" {
		t.Errorf("Schema() = %q", s)
	}
	if err := hive.Check(tbl, hive.Expect{Format: "orc", PartitionKeys: []string{"log_date", "log_hour"}}); err != nil {
		t.Errorf("Check: %v", err)
	}
	if err := hive.Check(tbl, hive.Expect{Format: "lzo"}); !errors.Is(err, hive.ErrMismatch) {
		t.Errorf("Check with lzo configured = %v; want ErrMismatch", err)
	}
	if _, err := c.LoadTable(ctx, db, "nope"); !errors.Is(err, hive.ErrNotFound) || !hive.IsPermanent(err) {
		t.Errorf("LoadTable of a missing table = %v; want permanent ErrNotFound", err)
	}

	step := hive.NewMetastore(c, hive.WithLogger(testLogger(t)))
	part := func(hour int) hive.Partition {
		h := fmt.Sprintf("%02d", hour)
		p := commit("20261121", h, int64(hour+1), int64(1000*(hour+1)), int64(4096*(hour+1)))
		p.Database = db
		p.Location = spec.Location + "/" + p.Path
		return p
	}
	// As in production, the partition's directory and files exist before
	// the metastore hears of it (Hive 4 then recomputes statistics).
	for h := range 20 {
		dir := filepath.Join(root, "clicks", part(h).Path)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "part-0.orc"), []byte("not really orc"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// commitRetrying is what the commit queue does: retry transient errors
	// with backoff until the step succeeds.
	commitRetrying := func(p hive.Partition) {
		t.Helper()
		for {
			err := step.Commit(ctx, p)
			if err == nil {
				return
			}
			if hive.IsPermanent(err) || ctx.Err() != nil {
				t.Fatalf("commit %s: %v", p.Spec(), err)
			}
			t.Logf("commit %s: transient: %v", p.Spec(), err)
			time.Sleep(500 * time.Millisecond)
		}
	}

	for h := range 3 {
		commitRetrying(part(h))
		commitRetrying(part(h)) // the same commit again: no second partition
	}

	// Restart the metastore while partitions are being committed.
	restarted := make(chan error, 1)
	go func() {
		cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "e2e", "services", "hms.sh"), "restart")
		out, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("hms.sh restart: %v\n%s", err, out)
		}
		restarted <- err
	}()
	next := 3
	for done := false; !done; {
		select {
		case err := <-restarted:
			if err != nil {
				t.Fatal(err)
			}
			done = true
		default:
			commitRetrying(part(next))
			next++
		}
	}
	// And after it, on the connections the client has to open anew.
	for range 2 {
		commitRetrying(part(next))
		next++
	}
	t.Logf("committed %d partitions around a metastore restart", next)

	late := part(1)
	late.Update, late.Key = true, "late-1"
	late.NumFiles, late.NumRows, late.TotalSize = 9, 2222, 99999
	late.CommitTime = late.CommitTime.Add(time.Hour)
	commitRetrying(late)

	ps, err := c.ListPartitions(ctx, db, "clicks")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != next {
		t.Fatalf("metastore has %d partitions, want %d", len(ps), next)
	}
	for _, p := range ps {
		hour, err := strconv.Atoi(p.Values[1])
		if err != nil {
			t.Fatal(err)
		}
		want := part(hour)
		if hour == 1 {
			want = late
		}
		for k, v := range map[string]string{
			"numFiles":            strconv.FormatInt(want.NumFiles, 10),
			"numRows":             strconv.FormatInt(want.NumRows, 10),
			"totalSize":           strconv.FormatInt(want.TotalSize, 10),
			"landfall.commit_key": want.Key,
		} {
			if p.Parameters[k] != v {
				t.Errorf("partition %v: %s = %q, want %q", p.Values, k, p.Parameters[k], v)
			}
		}
		// Hadoop's Path writes file:///x as file:/x.
		if strings.Replace(p.Sd.Location, "file:/", "file:///", 1) != want.Location || p.Sd.InputFormat != hive.OrcInputFormat {
			t.Errorf("partition %v: location %q, input format %q", p.Values, p.Sd.Location, p.Sd.InputFormat)
		}
	}
}
