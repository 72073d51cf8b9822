//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/internal/testenv"
)

var (
	ownerRE     = regexp.MustCompile(`msg=owner\b`)
	consumingRE = regexp.MustCompile(`msg=consuming\b`)
)

// runService is service for goroutines: it returns the error.
func runService(root, name string, args ...string) error {
	cmd := exec.Command("bash", append([]string{filepath.Join(root, "e2e", "services", name+".sh")}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s.sh %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// producer produces batches until stopped, event time advancing by step per
// record; failed batches are retried later with new records.
type producer struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	errs int
	last error
	et   time.Time
}

func (tb *table) startProducer(ctx context.Context, from time.Time, batch int, step, pause time.Duration) *producer {
	p := &producer{stop: make(chan struct{}), done: make(chan struct{}), et: from}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			case <-ctx.Done():
				return
			default:
			}
			p.mu.Lock()
			et := p.et
			p.mu.Unlock()
			next, err := tb.produce(ctx, batch, et, step)
			p.mu.Lock()
			if p.et == et { // not moved by jump meanwhile
				p.et = next
			}
			if err != nil {
				p.errs++
				p.last = err
			}
			p.mu.Unlock()
			time.Sleep(pause)
		}
	}()
	return p
}

// jump moves the event time forward, leaving a gap in the data.
func (p *producer) jump(d time.Duration) {
	p.mu.Lock()
	p.et = p.et.Add(d)
	p.mu.Unlock()
}

// eventTime is the event time of the next batch.
func (p *producer) eventTime() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.et
}

func (p *producer) finish() (int, error) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errs, p.last
}

// waitCommitted waits until the partitions in want have their _SUCCESS and,
// if all, so does every partition directory that holds data files.
func (tb *table) waitCommitted(t *testing.T, want []string, all bool, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var missing []string
	for time.Now().Before(deadline) {
		data, success := map[string]bool{}, map[string]bool{}
		err := tb.walk("", func(rel string, info fs.FileInfo) error {
			if strings.HasPrefix(rel, "_") {
				return nil
			}
			switch d := path.Dir(rel); {
			case info.Name() == "_SUCCESS":
				success[d] = true
			case strings.HasPrefix(info.Name(), "part-"):
				data[d] = true
			}
			return nil
		})
		missing = missing[:0]
		if !all {
			data = map[string]bool{}
		}
		for _, d := range want {
			data[d] = true
		}
		for d := range data {
			if !success[d] {
				missing = append(missing, d)
			}
		}
		if err == nil && len(missing) == 0 {
			return
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("partitions without _SUCCESS after %v: %v", within, missing)
}

// TestLandfallExactlyOnceWithFaults runs, for each file format, the real
// binary against the real cluster while a producer writes, kills it with SIGKILL at random moments
// (at least 30 times), and restarts the HDFS DataNode, etcd and the Kafka
// broker during the run. Afterwards every record Kafka acknowledged is read
// back from HDFS and must be there exactly once, and no partition may have
// got its _SUCCESS before all of its on-time records were visible.
func TestLandfallExactlyOnceWithFaults(t *testing.T) {
	for _, format := range []string{"text", "lzo", "orc"} {
		t.Run(format, func(t *testing.T) { exactlyOnceWithFaults(t, format) })
	}
}

func exactlyOnceWithFaults(t *testing.T, format string) {
	const minKills = 30
	// The Kafka restart stalls the producer as well as landfall, and a
	// quiet stream for idle_checkpoints checkpoints is a stream break by
	// definition (its hours commit on the clock and later records are
	// appended as late). This test asserts that no partition commits before
	// its on-time records, so its break timeout (15 × 1s) must outlast the
	// stalls it injects; stream breaks have their own test below.
	tb := newTable(t, 4, tableConfig{format: format, idle: 15, compaction: true})
	root := testenv.RepoRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := tb.watchSuccess(ctx, time.Second)
	follower := tb.followIndex()

	// Event time runs ~1000× faster than the wall clock, through a few
	// hourly partitions a day ago.
	base := time.Now().UTC().Truncate(time.Hour).Add(-24 * time.Hour)
	prod := tb.startProducer(ctx, base, 100, 50*time.Millisecond, 100*time.Millisecond)

	// The infrastructure faults, one after another while landfall is being
	// killed.
	type fault struct {
		after time.Duration
		name  string
		args  []string
	}
	faults := []fault{
		{20 * time.Second, "hdfs", []string{"restart-datanode"}},
		{45 * time.Second, "etcd", []string{"restart"}},
		{70 * time.Second, "kafka", []string{"restart"}},
	}
	faultErr := make(chan error, 1)
	go func() {
		start := time.Now()
		for _, f := range faults {
			select {
			case <-ctx.Done():
				faultErr <- ctx.Err()
				return
			case <-time.After(time.Until(start.Add(f.after))):
			}
			t0 := time.Now()
			if err := runService(root, f.name, f.args...); err != nil {
				faultErr <- err
				return
			}
			t.Logf("fault: %s %s took %s", f.name, strings.Join(f.args, " "), time.Since(t0).Round(100*time.Millisecond))
		}
		faultErr <- nil
	}()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	kills, exits := 0, 0
	faultsDone := false
	started := time.Now()
	for kills < minKills || !faultsDone {
		if time.Since(started) > 12*time.Minute {
			t.Fatalf("fault phase still running after 12m: %d kills, faults done %v", kills, faultsDone)
		}
		l := tb.start(fmt.Sprintf("run-%02d", kills+exits))
		// A quarter of the kills land at any moment after the start (waiting
		// for the dead predecessor's lease, recovering); the rest once it
		// consumes, so that they hit writes, checkpoints and renames.
		begun := time.Now()
		var killAt time.Time
		if rng.IntN(4) == 0 {
			killAt = begun.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
		}
		tick := time.NewTicker(50 * time.Millisecond)
	wait:
		for {
			select {
			case <-l.done:
				exits++
				t.Logf("landfall exited by itself (%v): %s", l.err, lastLine(l.log))
				if exits > 60 {
					t.Fatalf("landfall keeps exiting by itself (%d times); last log:\n%s", exits, logTail(l.log, 40))
				}
				time.Sleep(500 * time.Millisecond)
				break wait
			case now := <-tick.C:
				if killAt.IsZero() && (consumingRE.MatchString(logTail(l.log, 200)) || now.Sub(begun) > time.Minute) {
					killAt = now.Add(time.Duration(rng.IntN(4000)) * time.Millisecond)
				}
				if !killAt.IsZero() && now.After(killAt) {
					l.kill9()
					kills++
					break wait
				}
			}
		}
		tick.Stop()
		select {
		case err := <-faultErr:
			if err != nil {
				t.Fatalf("fault injection: %v", err)
			}
			faultsDone = true
		default:
		}
	}
	perrs, plast := prod.finish()
	cp, err := tb.checkpoint()
	if err != nil || cp == nil {
		t.Fatalf("no durable checkpoint after the fault phase (%v)", err)
	}
	t.Logf("fault phase: %d SIGKILLs, %d exits on its own, %d durable checkpoints, %d failed produce calls (last: %v) in %s",
		kills, exits, cp.Seq, perrs, plast, time.Since(started).Round(time.Second))
	if cp.Seq < minKills/2 {
		t.Fatalf("only %d checkpoints became durable during the fault phase: the kills hit too little work", cp.Seq)
	}

	final := tb.start("final")
	tb.waitDrained(5 * time.Minute)
	tb.waitCommitted(t, nil, true, 3*time.Minute)
	final.stop(t)
	cancel()

	follower.check(t, tb.verify(watch))
	follower.checkMerged(1 << 20)
	if len(tb.produced) < 10000 {
		t.Fatalf("only %d records were produced; the run proves too little", len(tb.produced))
	}
}

func lastLine(p string) string { return logTail(p, 1) }

// TestLandfallZombieFencing runs two landfall processes for one logid
// against real etcd. The second waits while the first owns the logid; when
// the first freezes (SIGSTOP) past its lease, the second takes over; when the
// first thaws (SIGCONT) it must notice that it is a zombie and stop without
// committing anything, so every record still lands exactly once.
func TestLandfallZombieFencing(t *testing.T) {
	tb := newTable(t, 2, tableConfig{leaseTTL: 2 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := time.Now().UTC().Truncate(time.Hour).Add(-30 * time.Hour)
	prod := tb.startProducer(ctx, base, 50, 200*time.Millisecond, 100*time.Millisecond)

	a := tb.start("a")
	defer func() {
		if !a.exited() {
			_ = a.cmd.Process.Signal(syscall.SIGCONT)
			a.kill9()
		}
	}()
	a.waitLog(t, ownerRE, 60*time.Second)
	b := tb.start("b")
	defer func() {
		if !b.exited() {
			b.kill9()
		}
	}()
	time.Sleep(5 * time.Second)
	if ownerRE.MatchString(logTail(b.log, 1000)) {
		t.Fatal("a second process became owner while the first was alive")
	}
	if b.exited() {
		t.Fatalf("the waiting process exited (%v):\n%s", b.err, logTail(b.log, 30))
	}

	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("freeze a: %v", err)
	}
	t.Log("a frozen")
	b.waitLog(t, ownerRE, 60*time.Second)
	t.Log("b took over")
	time.Sleep(8 * time.Second) // b checkpoints and commits files meanwhile
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("thaw a: %v", err)
	}
	t.Log("a thawed")
	select {
	case <-a.done:
		t.Logf("the zombie stopped (%v): %s", a.err, lastLine(a.log))
	case <-time.After(90 * time.Second):
		t.Fatalf("the zombie still runs 90s after it lost its lease:\n%s", logTail(a.log, 30))
	}
	time.Sleep(5 * time.Second)
	if b.exited() {
		t.Fatalf("the new owner exited (%v) after the zombie woke:\n%s", b.err, logTail(b.log, 30))
	}
	perrs, plast := prod.finish()
	if perrs > 0 {
		t.Logf("%d produce calls failed (last: %v)", perrs, plast)
	}
	tb.waitDrained(3 * time.Minute)
	tb.waitCommitted(t, nil, true, 3*time.Minute)
	b.stop(t)
	tb.verify(nil)
}

// TestLandfallPartitionCommit checks the partition commit on the real
// cluster, with _SUCCESS alone and with the Hive metastore step before it:
// hours the watermark has passed get their metastore partition and _SUCCESS
// with all their records; the hour still receiving data does not, for as long as it keeps
// receiving; when the stream stops, stream-break detection commits it.
func TestLandfallPartitionCommit(t *testing.T) {
	t.Run("success-file", func(t *testing.T) { partitionCommit(t, false) })
	t.Run("metastore", func(t *testing.T) { partitionCommit(t, true) })
}

func partitionCommit(t *testing.T, metastore bool) {
	tb := newTable(t, 2, tableConfig{outOfOrderness: time.Minute, idle: 3, metastore: metastore})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := tb.watchSuccess(ctx, 500*time.Millisecond)
	h0 := time.Now().UTC().Truncate(time.Hour).Add(-10 * time.Hour)
	h1, h2 := h0.Add(time.Hour), h0.Add(2*time.Hour)
	// Two whole hours, then the third hour trickling in: at most 20 minutes
	// of its event time in this test, so the watermark stays inside it.
	if _, err := tb.produce(ctx, 1200, h0, 6*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.produce(ctx, 1200, h1, 6*time.Second); err != nil {
		t.Fatal(err)
	}
	prod := tb.startProducer(ctx, h2, 10, 500*time.Millisecond, 200*time.Millisecond)

	l := tb.start("a")
	defer func() {
		if !l.exited() {
			l.kill9()
		}
	}()
	tb.waitCommitted(t, []string{hourDir(h0), hourDir(h1)}, false, 2*time.Minute)
	// The open hour keeps receiving data for ten more checkpoints.
	for i := 0; i < 10; i++ {
		if _, err := tb.fs.Stat(path.Join(hourDir(h2), "_SUCCESS")); err == nil {
			t.Fatalf("%s got _SUCCESS while its data still flows and the watermark is inside it", hourDir(h2))
		}
		time.Sleep(time.Second)
	}
	perrs, plast := prod.finish()
	if perrs > 0 {
		t.Fatalf("%d produce calls failed (last: %v)", perrs, plast)
	}
	prod.mu.Lock()
	lastET := prod.et
	prod.mu.Unlock()
	if !lastET.Before(h2.Add(45 * time.Minute)) {
		t.Fatalf("the producer ran into the next hour (%s); the test proves nothing", lastET)
	}
	// No more data: after idle checkpoints the processing-time clock
	// commits the open hour too.
	tb.waitDrained(2 * time.Minute)
	tb.waitCommitted(t, []string{hourDir(h2)}, true, 2*time.Minute)
	l.stop(t)
	cancel()

	got := tb.verify(watch)
	// Each partition holds exactly the records whose event time is in it.
	want := map[string]int{}
	tb.mu.Lock()
	for id, kind := range tb.produced {
		if kind != loggen.Malformed {
			want[hourDir(tb.eventAt[id])]++
		}
	}
	tb.mu.Unlock()
	for d, n := range want {
		if got.byDir[d] != n {
			t.Errorf("partition %s holds %d records, want %d", d, got.byDir[d], n)
		}
	}
	for d, n := range got.byDir {
		if want[d] == 0 {
			t.Errorf("partition %s holds %d records, want none", d, n)
		}
	}
}
