//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBrokerThroughput drains a topic of the e2e Kafka broker, a process
// of its own, with bin/landfall at GOMAXPROCS=1 and 2 (and at 2 with
// parallelism: 2), for text and ORC+zstd, onto the e2e HDFS. Every record
// is read back and must be there once: make e2e runs it on 100k records a
// run as the real-broker test of parallelism. It also prints a table of
// records per second (from the first "consuming" to the durable checkpoint
// of the last offset) and per CPU-second of the landfall process (its
// rusage, start-up and final checkpoint included), which is what make
// bench-broker runs it for, on 2M records a run. Each run gets its own
// topic and logid.
//
//	make bench-broker                     # 2M records a run
//	LANDFALL_E2E_BENCH_RECORDS=500000 make bench-broker
func TestBrokerThroughput(t *testing.T) {
	n := 100_000
	if os.Getenv("LANDFALL_E2E_BENCH") != "" {
		n = 2_000_000
	}
	if s := os.Getenv("LANDFALL_E2E_BENCH_RECORDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			t.Fatalf("LANDFALL_E2E_BENCH_RECORDS=%q: want a positive number of records", s)
		}
		n = v
	}
	consuming := regexp.MustCompile(`msg=consuming`)
	type row struct {
		format             string
		procs, parallelism int
		wall, cpu          time.Duration
	}
	var rows []row
	type run struct {
		format             string
		procs, parallelism int
	}
	var runs []run
	for _, format := range []string{"text", "orc"} {
		runs = append(runs, run{format, 1, 1}, run{format, 2, 1}, run{format, 2, 2})
	}
	for _, ru := range runs {
		format, procs := ru.format, ru.procs
		t.Run(fmt.Sprintf("%s/procs%d/parallelism%d", format, procs, ru.parallelism), func(t *testing.T) {
			tb := newTable(t, 4, tableConfig{format: format, checkpoint: time.Second, outOfOrderness: time.Hour})
			tb.appendConfig(fmt.Sprintf("parallelism: %d\n", ru.parallelism))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			// 2 ms apart: a run spans about an hour of event time.
			if _, err := tb.produce(ctx, n, time.Now().UTC().Add(-3*time.Hour), 2*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			l := tb.start("run", "GOMAXPROCS="+strconv.Itoa(procs))
			l.waitLog(t, consuming, 2*time.Minute)
			start := time.Now()
			tb.waitDrained(10 * time.Minute)
			wall := time.Since(start)
			l.stop(t)
			ps := l.cmd.ProcessState
			rows = append(rows, row{format, procs, ru.parallelism, wall, ps.UserTime() + ps.SystemTime()})
			land, err := tb.readTable("")
			if err != nil {
				t.Fatal(err)
			}
			tb.checkExactlyOnce(land)
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d records a run, 4 partitions, checkpoint every 1s, onto HDFS\n", n)
	fmt.Fprintf(&b, "%-6s %10s %11s %10s %12s %10s %14s\n", "format", "GOMAXPROCS", "parallelism", "wall-s", "records/s", "cpu-s", "records/cpu-s")
	one := map[string]row{}
	for _, r := range rows {
		if r.procs == 1 {
			one[r.format] = r
		}
		fmt.Fprintf(&b, "%-6s %10d %11d %10.2f %12.0f %10.2f %14.0f\n", r.format, r.procs, r.parallelism, r.wall.Seconds(),
			float64(n)/r.wall.Seconds(), r.cpu.Seconds(), float64(n)/r.cpu.Seconds())
	}
	for _, r := range rows {
		if o, ok := one[r.format]; ok && r.procs == 2 {
			up := o.wall.Seconds() / r.wall.Seconds()
			fmt.Fprintf(&b, "%s, parallelism %d: speed-up from 1 to 2 cores %.2fx, per-core efficiency at 2 cores %.0f%%, CPU-seconds %.2fx those at 1\n",
				r.format, r.parallelism, up, 100*up/2, r.cpu.Seconds()/o.cpu.Seconds())
		}
	}
	t.Log(b.String())
}
