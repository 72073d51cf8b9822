package committer_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/hive/hivetest"
	"github.com/landfall/landfall/writer/fsys"
)

// TestMetastoreOutageNeverStopsData: with the metastore down, records keep
// landing in committed files but no partition is signalled (the metastore
// step comes first); once it is back, every partition is registered with
// the right counts and then gets its _SUCCESS, in that order.
func TestMetastoreOutageNeverStopsData(t *testing.T) {
	hms, err := hivetest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hms.Close()
	e := newEnv(t, 2)
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	cfg := e.config(func(c *committer.Config) {
		c.Hive = hive.Config{Database: "ods", Table: "logs", Metastore: hive.MetastoreConfig{URIs: []string{hms.URI()},
			ConnectTimeout: 200 * time.Millisecond, CallTimeout: time.Second}}
		c.Commit.Steps = []string{hive.StepMetastore, hive.StepSuccessFile}
		c.Commit.RetryMax = 200 * time.Millisecond
	})
	client, err := hive.NewClient(cfg.Hive.Metastore)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	if err := client.CreateDatabase(ctx, "ods", "file://"+e.dir); err != nil {
		t.Fatal(err)
	}
	if err := client.CreateTable(ctx, hive.TableSpec{Database: "ods", Table: "logs", Location: "file://" + e.dir, Format: "text",
		Columns: []hive.Column{{Name: "line", Type: "string"}}, PartitionKeys: []hive.Column{{Name: "log_date", Type: "string"}, {Name: "log_hour", Type: "string"}}}); err != nil {
		t.Fatal(err)
	}
	lfs, _ := fsys.NewLocal(e.dir)
	h2 := cfg.Hive
	h2.CommitSteps = cfg.Commit.Steps
	steps, err := hive.NewSteps(h2, committer.SuccessFile{FS: lfs}, hive.WithClient(client))
	if err != nil {
		t.Fatal(err)
	}
	defer steps.Close()

	hms.Down()
	in := e.startWith(cfg, opts{now: func() time.Time { return h }}, steps.List)
	var recs []string
	for i := 0; i < 30; i++ {
		recs = append(recs, rec(i, h.Add(time.Duration(i)*6*time.Minute))) // 10:00 … 12:54
	}
	e.produceRaw(recs...)
	e.waitConsumed(10 * time.Second)
	waitFor(t, 10*time.Second, "data landed during the outage", func() bool { return len(readTable(t, e.dir).IDs) == 30 })
	time.Sleep(500 * time.Millisecond) // several commit attempts
	if l := readTable(t, e.dir); len(l.Success) != 0 {
		t.Fatalf("_SUCCESS written while the metastore was down: %v", l.Success)
	}
	if err := hms.Up(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "hours 10 and 11 committed", func() bool {
		l := readTable(t, e.dir)
		return l.Success["log_date=20261121/log_hour=10"] && l.Success["log_date=20261121/log_hour=11"]
	})
	in.stop(t)
	parts := hms.Partitions("ods", "logs")
	got := map[string]string{}
	for _, p := range parts {
		got[p.Values[0]+"/"+p.Values[1]] = p.Parameters["numRows"]
	}
	for hour, want := range map[string]int{"20261121/10": 10, "20261121/11": 10} {
		if got[hour] != strconv.Itoa(want) {
			t.Errorf("partition %s: numRows %q, want %d (all: %v)", hour, got[hour], want, got)
		}
	}
	if _, ok := got["20261121/12"]; ok {
		t.Error("hour 12 registered before the watermark passed it")
	}
}

// flakyStep fails while down is set and records what it committed.
type flakyStep struct {
	mu        sync.Mutex
	down      bool
	failures  map[string]int
	committed map[string]time.Time
}

func (s *flakyStep) Name() string { return "flaky" }

func (s *flakyStep) Commit(_ context.Context, p hive.Partition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		s.failures[p.Path]++
		return errors.New("target down")
	}
	if _, ok := s.committed[p.Path]; !ok {
		s.committed[p.Path] = time.Now()
	}
	return nil
}

// TestCommitsResumeWhenTargetIsBack: a commit that failed often has a long
// backoff; once another commit gets through, the target is back and it is
// retried at once rather than when its backoff ends.
func TestCommitsResumeWhenTargetIsBack(t *testing.T) {
	e := newEnv(t, 1)
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	cfg := e.config(func(c *committer.Config) {
		c.Commit.RetryMax = time.Hour
		c.Watermark.IdleCheckpoints = 1000
	})
	step := &flakyStep{down: true, failures: map[string]int{}, committed: map[string]time.Time{}}
	in := e.startWith(cfg, opts{now: func() time.Time { return h }}, []hive.Step{step})
	defer in.stop(t)
	const hour10 = "log_date=20261121/log_hour=10"
	e.produceRaw(rec(0, h), rec(1, h.Add(70*time.Minute)))
	// Six failures: the next attempt is 6.4 s away (2^6 × 100 ms).
	waitFor(t, 20*time.Second, "six failed attempts", func() bool {
		step.mu.Lock()
		defer step.mu.Unlock()
		return step.failures[hour10] >= 6
	})
	step.mu.Lock()
	step.down = false
	step.mu.Unlock()
	back := time.Now()
	// A new hour passes the watermark: its commit, tried at once, succeeds.
	e.produceRaw(rec(2, h.Add(130*time.Minute)))
	waitFor(t, 20*time.Second, "hour 10 committed", func() bool {
		step.mu.Lock()
		defer step.mu.Unlock()
		_, ok := step.committed[hour10]
		return ok
	})
	step.mu.Lock()
	took := step.committed[hour10].Sub(back)
	step.mu.Unlock()
	t.Logf("hour 10 committed %v after the target was back", took)
	if took > 3*time.Second {
		t.Errorf("hour 10 committed %v after the target was back; it waited for its backoff", took)
	}
}
