//go:build e2e

package e2e

import (
	"context"
	"regexp"
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
