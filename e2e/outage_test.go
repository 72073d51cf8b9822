//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	hms "github.com/beltran/gohive/hive_metastore"

	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/internal/testenv"
)

// hookReceiver is the test webhook, a scheduler's stand-in: it counts the
// deliveries of each idempotency key, and checks on each that the signals
// which come before it are there — the partition in the metastore with the
// same commit and counts, and its _SUCCESS.
type hookReceiver struct {
	srv *httptest.Server

	mu    sync.Mutex
	tb    *table
	byKey map[string]int
	got   []hive.Notification // in arrival order
	errs  []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{byKey: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) setTable(tb *table) {
	h.mu.Lock()
	h.tb = tb
	h.mu.Unlock()
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var n hive.Notification
	if err == nil {
		err = json.Unmarshal(body, &n)
	}
	if err != nil {
		h.fail("undecodable notification %q: %v", body, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if k := r.Header.Get("Idempotency-Key"); k != n.IdempotencyKey || k == "" {
		h.fail("%s: Idempotency-Key header %q, body %q", n.PartitionPath, k, n.IdempotencyKey)
	}
	h.mu.Lock()
	tb := h.tb
	h.mu.Unlock()
	if _, err := tb.fs.Stat(path.Join(n.PartitionPath, "_SUCCESS")); err != nil {
		h.fail("%s notified (%s) before its _SUCCESS: %v", n.PartitionPath, n.IdempotencyKey, err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	var vals []string
	for _, el := range strings.Split(n.PartitionPath, "/") {
		_, v, _ := strings.Cut(el, "=")
		vals = append(vals, v)
	}
	p, err := tb.hms.GetPartition(ctx, n.Database, n.Table, vals)
	switch {
	case err != nil:
		h.fail("%s notified (%s) but not readable in the metastore: %v", n.PartitionPath, n.IdempotencyKey, err)
	case p.Parameters[hive.ParamCommitKey] != n.IdempotencyKey:
		h.fail("%s notified as commit %s while the metastore holds commit %s", n.PartitionPath, n.IdempotencyKey, p.Parameters[hive.ParamCommitKey])
	case p.Parameters["numRows"] != strconv.FormatInt(n.NumRows, 10):
		h.fail("%s notified with %d rows, the metastore says %s", n.PartitionPath, n.NumRows, p.Parameters["numRows"])
	}
	h.mu.Lock()
	h.byKey[n.IdempotencyKey]++
	h.got = append(h.got, n)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) fail(format string, a ...any) {
	h.mu.Lock()
	h.errs = append(h.errs, fmt.Sprintf(format, a...))
	h.mu.Unlock()
}

func (h *hookReceiver) deliveries() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.got)
}

// waitFor waits until every partition in dirs has been notified.
func (h *hookReceiver) waitFor(t *testing.T, dirs []string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var missing []string
	for time.Now().Before(deadline) {
		h.mu.Lock()
		seen := map[string]bool{}
		for _, n := range h.got {
			seen[n.PartitionPath] = true
		}
		h.mu.Unlock()
		missing = missing[:0]
		for _, d := range dirs {
			if !seen[d] {
				missing = append(missing, d)
			}
		}
		if len(missing) == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("partitions without a webhook delivery after %v: %v", within, missing)
}

// dirStat is what a partition directory holds.
type dirStat struct {
	files   int
	bytes   int64
	success bool
}

func (tb *table) dirStats() (map[string]*dirStat, error) {
	out := map[string]*dirStat{}
	err := tb.walk("", func(rel string, info fs.FileInfo) error {
		if strings.HasPrefix(rel, "_") {
			return nil
		}
		d := path.Dir(rel)
		st := out[d]
		if st == nil {
			st = &dirStat{}
			out[d] = st
		}
		switch {
		case info.Name() == "_SUCCESS":
			st.success = true
		case strings.HasPrefix(info.Name(), "part-"):
			st.files++
			st.bytes += info.Size()
		}
		return nil
	})
	return out, err
}

func (tb *table) consumed() int64 {
	tb.t.Helper()
	cp, err := tb.checkpoint()
	if err != nil || cp == nil {
		tb.t.Fatalf("checkpoint: %v", err)
	}
	var n int64
	for _, o := range cp.Offsets {
		n += o
	}
	return n
}

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// TestLandfallMetastoreOutage is the metastore outage of the Hive issue on
// the real cluster, with the real binary: the table is created from
// landfall's DDL; landfall commits partitions to the metastore, then
// _SUCCESS, then a webhook; the metastore is stopped for two minutes while
// data flows (and landfall is SIGKILLed and restarted without a metastore
// in the middle); the data gets a nine-hour gap; then the metastore comes
// back and the producer stops. Afterwards: every record exactly once, every
// hour from the first to the last before now committed — the gap's empty
// hours on the event-time watermark, the open hour and the empty hours
// after it on the processing-time clock (stream break) — with correct
// counts in the metastore, and every commit notified exactly once, after
// its metastore partition and _SUCCESS.
func TestLandfallMetastoreOutage(t *testing.T) {
	const (
		outage = 2 * time.Minute
		gap    = 9 * time.Hour
		late   = 6 * time.Hour // loggen's late records are 2–6 h behind
	)
	root := testenv.RepoRoot(t)
	hook := newHookReceiver(t)
	tb := newTable(t, 2, tableConfig{format: "orc", metastore: true, ddl: true, webhook: hook.srv.URL + "/landfall", idle: 3, compaction: true})
	hook.setTable(tb)
	hmsDown := false
	t.Cleanup(func() {
		if hmsDown { // leave the metastore up for the tests after this one
			_ = runService(root, "hms", "start")
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := tb.watchSuccess(ctx, time.Second)

	// ~100 records/s, event time ~200× the wall clock: an hour per ~18 s.
	h0 := time.Now().UTC().Truncate(time.Hour).Add(-40 * time.Hour)
	prod := tb.startProducer(ctx, h0, 20, 2*time.Second, 200*time.Millisecond)
	l := tb.start("a")
	defer func() {
		if !l.exited() {
			l.kill9()
		}
	}()
	first := []string{hourDir(h0), hourDir(h0.Add(time.Hour))}
	tb.waitCommitted(t, first, false, 3*time.Minute)
	hook.waitFor(t, first, time.Minute)

	service(t, "hms", "stop")
	hmsDown = true
	down := time.Now()
	t.Logf("metastore stopped; %d notifications so far", hook.deliveries())
	time.Sleep(10 * time.Second) // a commit in flight at the stop ends
	st0, err := tb.dirStats()
	if err != nil {
		t.Fatal(err)
	}
	hooks0, off0 := hook.deliveries(), tb.consumed()

	// A crash in the outage: the next process starts without a metastore
	// and finds the queued commits in etcd.
	sleepUntil(down.Add(40 * time.Second))
	l.kill9()
	l = tb.start("b")
	l.waitLog(t, consumingRE, time.Minute)
	sleepUntil(down.Add(60 * time.Second))
	gapFrom := prod.eventTime()
	prod.jump(gap)
	sleepUntil(down.Add(outage))

	st1, err := tb.dirStats()
	if err != nil {
		t.Fatal(err)
	}
	hooks1, off1 := hook.deliveries(), tb.consumed()
	var signalled, waiting []string
	landed := 0
	for d, st := range st1 {
		if st.success && (st0[d] == nil || !st0[d].success) {
			signalled = append(signalled, d)
		}
		if !st.success {
			waiting = append(waiting, d)
			landed += st.files
		}
	}
	if len(signalled) > 0 || hooks1 != hooks0 {
		t.Errorf("with the metastore down, %v got _SUCCESS and %d notifications were sent", signalled, hooks1-hooks0)
	}
	// Data never waits for the metastore: ~100 records/s were consumed and
	// landed in files of partitions that are still waiting for their commit.
	if off1-off0 < 5000 || landed == 0 {
		t.Fatalf("during the outage landfall consumed %d records and landed %d files in uncommitted partitions", off1-off0, landed)
	}
	sort.Strings(waiting)
	t.Logf("outage: %d records consumed, %d files landed in %d partitions waiting for the metastore", off1-off0, landed, len(waiting))

	service(t, "hms", "start")
	hmsDown = false
	t.Logf("metastore back after %s", time.Since(down).Round(time.Second))
	time.Sleep(20 * time.Second)
	perrs, plast := prod.finish()
	if perrs > 0 {
		t.Fatalf("%d produce calls failed (last: %v)", perrs, plast)
	}
	lastET := prod.eventTime()
	if !lastET.Before(time.Now().Add(-2 * time.Hour)) {
		t.Fatalf("the event time ran up to %s, too close to now for a stream break to leave empty hours", lastET)
	}

	// Stream break: no more records. The processing-time clock commits the
	// open hour and the empty hours after it, up to the last hour that ended
	// an out-of-orderness ago.
	tb.waitDrained(3 * time.Minute)
	end := time.Now().UTC().Add(-time.Minute).Truncate(time.Hour)
	var want []string
	for h := h0; h.Before(end); h = h.Add(time.Hour) {
		want = append(want, hourDir(h))
	}
	tb.waitCommitted(t, want, true, 3*time.Minute)
	hook.waitFor(t, want, 2*time.Minute)
	l.stop(t)
	cancel()

	got := tb.verify(watch)

	// The metastore holds every partition with its true counts.
	stats, err := tb.dirStats()
	if err != nil {
		t.Fatal(err)
	}
	mctx, mcancel := context.WithTimeout(context.Background(), time.Minute)
	defer mcancel()
	list, err := tb.hms.ListPartitions(mctx, tb.hiveDB, hiveTable)
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]*hms.Partition{}
	for _, p := range list {
		parts["log_date="+p.Values[0]+"/log_hour="+p.Values[1]] = p
	}
	dirs := map[string]bool{}
	for _, d := range want {
		dirs[d] = true
	}
	for d := range got.byDir {
		dirs[d] = true
	}
	var gapEmpty, breakEmpty []string
	for d := range dirs {
		p, st := parts[d], stats[d]
		if p == nil || st == nil {
			t.Errorf("partition %s: in the metastore %v, directory on hdfs %v", d, p != nil, st != nil)
			continue
		}
		wantParams := map[string]string{
			"numRows":   strconv.Itoa(got.byDir[d]),
			"numFiles":  strconv.Itoa(st.files),
			"totalSize": strconv.FormatInt(st.bytes, 10),
		}
		for k, v := range wantParams {
			if p.Parameters[k] != v {
				t.Errorf("partition %s: metastore %s=%q, the files say %s", d, k, p.Parameters[k], v)
			}
		}
		if got.byDir[d] > 0 {
			continue
		}
		if st.files != 0 {
			t.Errorf("empty partition %s holds %d files", d, st.files)
		}
		hour, _ := time.Parse("log_date=20060102/log_hour=15", d)
		switch {
		case hour.After(gapFrom) && !hour.Add(time.Hour).After(gapFrom.Add(gap-late)):
			gapEmpty = append(gapEmpty, d)
		case hour.After(lastET):
			breakEmpty = append(breakEmpty, d)
		}
	}
	sort.Strings(gapEmpty)
	sort.Strings(breakEmpty)
	if len(gapEmpty) == 0 || len(breakEmpty) == 0 {
		t.Errorf("empty hours committed: %v in the gap, %v after the stream stopped; want some of each", gapEmpty, breakEmpty)
	}

	// Every commit notified exactly once, in order, with the final counts.
	hook.mu.Lock()
	defer hook.mu.Unlock()
	for _, e := range hook.errs {
		t.Error(e)
	}
	for k, n := range hook.byKey {
		if n != 1 {
			t.Errorf("commit %s notified %d times", k, n)
		}
	}
	firsts, last := map[string]int{}, map[string]hive.Notification{}
	for _, n := range hook.got {
		if n.Event == hive.EventCommitted {
			firsts[n.PartitionPath]++
		}
		if prev, ok := last[n.PartitionPath]; ok && !n.CommitTime.After(prev.CommitTime) && n.IdempotencyKey != prev.IdempotencyKey {
			t.Errorf("%s: commit %s notified after the later commit %s", n.PartitionPath, n.IdempotencyKey, prev.IdempotencyKey)
		}
		last[n.PartitionPath] = n
	}
	for d := range dirs {
		if firsts[d] != 1 {
			t.Errorf("partition %s: %d partition_committed notifications, want 1", d, firsts[d])
		}
		held := ""
		if parts[d] != nil {
			held = parts[d].Parameters[hive.ParamCommitKey]
		}
		if n := last[d]; n.NumRows != int64(got.byDir[d]) || n.IdempotencyKey != held {
			t.Errorf("partition %s: last notification %s says %d rows; the files hold %d, the metastore holds commit %s",
				d, n.IdempotencyKey, n.NumRows, got.byDir[d], held)
		}
	}
	t.Logf("%d partitions (%d empty in the gap: %v; %d empty after the stream stopped), %d notifications for %d commits",
		len(dirs), len(gapEmpty), gapEmpty, len(breakEmpty), len(hook.got), len(hook.byKey))
}
