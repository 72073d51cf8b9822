//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLandfallPausedRecoveryFencing: a process freezes during recovery,
// just before its orphan sweep (as a GC or VM pause would, here SIGSTOP at
// the failpoint), and loses its lease; a second process takes over on the
// real etcd and writes files to HDFS; when the first thaws, its sweep must
// not touch the new owner's files and it must stop without changing
// anything, and every record still lands exactly once.
func TestLandfallPausedRecoveryFencing(t *testing.T) {
	tb := newTable(t, 2, tableConfig{leaseTTL: 2 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := time.Now().UTC().Truncate(time.Hour).Add(-30 * time.Hour)
	prod := tb.startProducer(ctx, base, 50, 200*time.Millisecond, 100*time.Millisecond)

	// A first run leaves a checkpoint and staging behind, as a crash would.
	first := tb.start("first")
	first.waitLog(t, ownerRE, 60*time.Second)
	time.Sleep(6 * time.Second)
	first.kill9()

	a := tb.start("a", "LANDFALL_TEST_PAUSE_AT=recovery-sweep")
	defer func() {
		if !a.exited() {
			_ = a.cmd.Process.Signal(syscall.SIGCONT)
			a.kill9()
		}
	}()
	a.waitLog(t, regexp.MustCompile(`pausing at failpoint`), 60*time.Second)
	waitStopped(t, a.cmd.Process.Pid, 10*time.Second)
	t.Log("a frozen in its recovery")

	b := tb.start("b")
	defer func() {
		if !b.exited() {
			b.kill9()
		}
	}()
	b.waitLog(t, ownerRE, 60*time.Second)
	t.Log("b took over")
	time.Sleep(8 * time.Second) // b checkpoints and writes files meanwhile
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("thaw a: %v", err)
	}
	t.Log("a thawed")
	select {
	case <-a.done:
		t.Logf("the old owner stopped (%v): %s", a.err, lastLine(a.log))
		if !strings.Contains(logTail(a.log, 50), "not owner") {
			t.Fatalf("the old owner did not stop for lost ownership:\n%s", logTail(a.log, 30))
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("the old owner still runs 90s after it lost its lease:\n%s", logTail(a.log, 30))
	}
	time.Sleep(5 * time.Second)
	if b.exited() {
		t.Fatalf("the new owner exited (%v) after the old one resumed:\n%s", b.err, logTail(b.log, 30))
	}
	// Without the fence the thawed process swept the new owner's open
	// files (on main: "removed orphan part files count=5", and the new
	// owner's pipeline failed writing them).
	if strings.Contains(logTail(a.log, 2000), "removed orphan part files") {
		t.Fatalf("the old owner deleted files after it lost the logid:\n%s", logTail(a.log, 30))
	}
	if bl := logTail(b.log, 5000); strings.Contains(bl, "pending file lost") || strings.Contains(bl, "pipeline failed") {
		t.Fatalf("the new owner's pipeline failed after the old one resumed:\n%s", logTail(b.log, 30))
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

// waitStopped waits until a process is in the stopped state (SIGSTOP).
func waitStopped(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err == nil {
			// pid (comm) state …: the state follows the last ')'.
			s := string(b)
			if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) && s[i+2] == 'T' {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("process %d did not stop within %v", pid, within)
}
