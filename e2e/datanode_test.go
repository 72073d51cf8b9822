//go:build e2e

package e2e

import (
	"context"
	"regexp"
	"syscall"
	"testing"
	"time"
)

var restartRE = regexp.MustCompile(`restarting from the last checkpoint`)

// TestLandfallSurvivesDataNodeOutage stops the only DataNode for 15 s while
// records flow, so every write and sync fails. landfall must not exit: it
// restarts its pipeline in-process from the last checkpoint, with backoff,
// until the DataNode is back, and then lands every record exactly once.
func TestLandfallSurvivesDataNodeOutage(t *testing.T) {
	tb := newTable(t, 2, tableConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := time.Now().UTC().Truncate(time.Hour).Add(-20 * time.Hour)
	prod := tb.startProducer(ctx, base, 50, 200*time.Millisecond, 100*time.Millisecond)

	l := tb.start("a")
	defer func() {
		if !l.exited() {
			l.kill9()
		}
	}()
	l.waitLog(t, consumingRE, 60*time.Second)
	time.Sleep(3 * time.Second)
	dnDown := true
	service(t, "hdfs", "stop-datanode")
	defer func() {
		if dnDown {
			service(t, "hdfs", "start-datanode")
		}
	}()
	l.waitLog(t, restartRE, 60*time.Second)
	time.Sleep(15 * time.Second)
	service(t, "hdfs", "start-datanode")
	dnDown = false

	if perrs, plast := prod.finish(); perrs > 0 {
		t.Logf("%d produce calls failed (last: %v)", perrs, plast)
	}
	tb.waitDrained(3 * time.Minute)
	if l.exited() {
		t.Fatalf("landfall exited (%v) instead of restarting in-process:\n%s", l.err, logTail(l.log, 30))
	}
	restarts := len(restartRE.FindAllString(logTail(l.log, 1_000_000), -1))
	l.stop(t)
	landed := tb.verify(nil)
	t.Logf("%d in-process restarts while the DataNode was down; %d records landed exactly once", restarts, len(landed.ids))
}

// TestLandfallFrozenDataNode freezes the only DataNode (SIGSTOP): it keeps
// its connections open and answers nothing, so a write, sync or close on
// it never returns by itself. Every filesystem call has a deadline
// (warehouse.timeout), so the pipeline fails and restarts in-process
// instead of hanging, a stop asked for meanwhile ends in bounded time
// (before the fix: neither, the process hung with its lease alive), and
// once the DataNode thaws a new process lands every record exactly once.
func TestLandfallFrozenDataNode(t *testing.T) {
	const timeout = 5 * time.Second
	tb := newTable(t, 2, tableConfig{warehouseTimeout: timeout})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := time.Now().UTC().Truncate(time.Hour).Add(-20 * time.Hour)
	prod := tb.startProducer(ctx, base, 50, 200*time.Millisecond, 100*time.Millisecond)

	a := tb.start("a")
	defer func() {
		if !a.exited() {
			a.kill9()
		}
	}()
	a.waitLog(t, consumingRE, 60*time.Second)
	time.Sleep(3 * time.Second)
	service(t, "hdfs", "pause-datanode")
	frozen := true
	defer func() {
		if frozen {
			service(t, "hdfs", "resume-datanode")
		}
	}()
	a.waitLog(t, restartRE, 60*time.Second)
	t.Log("the pipeline failed on the frozen DataNode and restarted in-process")
	time.Sleep(2 * time.Second)
	stopAsked := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.done:
		t.Logf("stopped %v after SIGTERM with the DataNode frozen (%v)", time.Since(stopAsked).Round(time.Millisecond), a.err)
	case <-time.After(2 * time.Minute):
		t.Fatalf("landfall still runs 2 minutes after SIGTERM with the DataNode frozen:\n%s", logTail(a.log, 30))
	}
	service(t, "hdfs", "resume-datanode")
	frozen = false

	b := tb.start("b")
	defer func() {
		if !b.exited() {
			b.kill9()
		}
	}()
	if perrs, plast := prod.finish(); perrs > 0 {
		t.Logf("%d produce calls failed (last: %v)", perrs, plast)
	}
	tb.waitDrained(4 * time.Minute)
	b.stop(t)
	tb.verify(nil)
}
