package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/hive/hivetest"
)

// cmdQuickstart runs landfall on an embedded default: an in-process Kafka
// (kfake) fed by a generator that replays a simulated day of logs on an
// accelerated clock, an embedded etcd, and a local warehouse.
//
// Every run starts fresh: the in-process Kafka lives in memory and starts
// empty, so the previous run's checkpoint (offsets of a log that is gone)
// and warehouse (another simulated day) can't be resumed; keeping them
// made a second run land beside the first one's files, or, with another
// --format, refuse to start. out receives what the user reads.
// quickstartConfigHeader says what the written configuration still
// reaches once the quickstart has stopped.
const quickstartConfigHeader = `# The configuration "landfall quickstart" ran with. Its Kafka (and metastore,
# with --metastore) lived in memory and are gone; the warehouse and the
# embedded etcd's data stay, so commands that read them work against this
# file after the run: landfall index tail|files|verify, landfall hive ddl.
`

func cmdQuickstart(args []string, out io.Writer) error {
	fl := flag.NewFlagSet("quickstart", flag.ExitOnError)
	duration := fl.Duration("duration", 75*time.Second, "how long to run")
	dir := fl.String("dir", "out/quickstart", "where the warehouse, etcd data and logs go")
	format := fl.String("format", "text", "text, lzo or orc")
	compression := fl.String("compression", "", "text: none or zstd; orc: zstd, zlib or none (default: the format's)")
	rate := fl.Int("rate", 20000, "records per second the generator produces")
	day := fl.Duration("day", 60*time.Second, "real time in which the generator replays one simulated day")
	partitions := fl.Int("partitions", 4, "Kafka partitions of the topic")
	withHMS := fl.Bool("metastore", false, "also run an in-process Hive metastore and register partitions in it")
	compaction := fl.Bool("compaction", false, "merge each partition's small files before its commit (compaction.enabled)")
	logFormat := fl.String("log-format", "text", "text or json: the format of <dir>/landfall.log")
	_ = fl.Parse(args)

	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	fresh, err := clearQuickstart(abs)
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(abs, "landfall.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	log, err := newLogger(logFile, "info", *logFormat)
	if err != nil {
		return err
	}

	const topic = "quickstart_logs"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(*partitions), topic))
	if err != nil {
		return fmt.Errorf("start in-process kafka: %w", err)
	}
	defer cluster.Close()

	table := filepath.Join(abs, "warehouse", "quickstart.db", "logs")
	cfgText := fmt.Sprintf(`
logid: quickstart
kafka: {brokers: [%s], topic: %s}
etcd: {endpoints: [embedded], embedded_dir: %s, lease_ttl: 2s}
warehouse: {uri: "file://%s"}
format: {name: %s, compression: "%s", schema: "%s"}
event_time: {field: ts, format: epoch_ms, timezone: Asia/Shanghai}
partition: {pattern: "log_date={yyyyMMdd}/log_hour={HH}"}
checkpoint: {interval: 2s}
watermark: {out_of_orderness: 2m}
metrics: {listen: "127.0.0.1:0"}
`, strings.Join(cluster.ListenAddrs(), ","), topic, filepath.Join(abs, "etcd"), table, *format, *compression, loggen.Schema)
	var hms *hivetest.Server
	if *withHMS {
		if hms, err = hivetest.Start("127.0.0.1:0"); err != nil {
			return fmt.Errorf("start in-process metastore: %w", err)
		}
		defer hms.Close()
		cfgText += fmt.Sprintf("hive: {database: quickstart, table: logs, metastore: {uris: [%q]}}\ncommit: {steps: [metastore, success-file]}\n", hms.URI())
	} else {
		cfgText += "hive: {database: quickstart, table: logs}\n"
	}
	if *compaction {
		cfgText += "compaction: {enabled: true}\n"
	}
	cfg, err := committer.ParseConfig([]byte(cfgText))
	if err != nil {
		return err
	}
	// The configuration it runs with, so that every other command can be
	// pointed at this warehouse after the run: index tail, hive ddl, …
	cfgPath := filepath.Join(abs, "landfall.yaml")
	if err := os.WriteFile(cfgPath, []byte(quickstartConfigHeader+cfgText), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", cfgPath, err)
	}
	if hms != nil {
		if err := createQuickstartTable(cfg, log); err != nil {
			return err
		}
		fmt.Fprintf(out, "  metastore %s (in-process): table quickstart.logs\n", hms.URI())
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()

	// The simulated day is the 24 hours before the current hour, so that
	// when it is over the stream-break clock commits its last hours.
	dayStart := time.Now().Truncate(time.Hour).Add(-24 * time.Hour)
	speed := float64(24*time.Hour) / float64(*day)
	zone := loc()
	// Zone abbreviations are ambiguous (Asia/Shanghai's is CST): name it.
	fmt.Fprintf(out, "landfall quickstart: the day from %s to %s %s replayed in %s (%.0fx), %d records/s into %d Kafka partitions\n",
		dayStart.In(zone).Format("2006-01-02 15:04"), dayStart.Add(24*time.Hour).In(zone).Format("2006-01-02 15:04"), zone, *day, speed, *rate, *partitions)
	fmt.Fprintf(out, "  clock     event times, partitions and the watermark are in %s (UTC%s), the partition time zone; [Ns] is seconds since start\n",
		zone, dayStart.In(zone).Format("-07:00"))
	fmt.Fprintf(out, "  warehouse %s\n  logs      %s\n", table, logFile.Name())
	fmt.Fprintf(out, "  config    %s (e.g. landfall index tail --config %s --from earliest --json)\n", cfgPath, cfgPath)
	if fresh {
		fmt.Fprintf(out, "  fresh     start: removed the previous run's warehouse, etcd state and log under %s (its Kafka lived in memory; nothing to resume)\n", abs)
	} else {
		fmt.Fprintf(out, "  fresh     start in %s\n", abs)
	}

	var wg sync.WaitGroup
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	var produced atomic.Int64
	var genErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		genErr = generate(genCtx, cluster.ListenAddrs(), topic, dayStart, speed, *day, *rate, &produced)
	}()

	var pl *committer.Pipeline
	var plMu sync.Mutex
	start := time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		var last int64
		lastAt := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				plMu.Lock()
				p := pl
				plMu.Unlock()
				if p == nil {
					continue
				}
				pr := p.Progress()
				rate := float64(pr.Records-last) / now.Sub(lastAt).Seconds()
				last, lastAt = pr.Records, now
				wm := "-"
				if !pr.Watermark.IsZero() {
					wm = pr.Watermark.In(zone).Format("01-02 15:04 -07")
				}
				committed, updates := p.Commits()
				fmt.Fprintf(out, "[%4.0fs] %8.0f rec/s  consumed %9d  invalid %5d  lag %7d  files/ckpt %3d  checkpoint #%d  watermark %s  partitions committed %d (+%d updates for late data)\n",
					now.Sub(start).Seconds(), rate, pr.Records, pr.Invalid, pr.Lag, pr.FilesRolled, pr.Checkpoint, wm, committed, updates)
			}
		}
	}()

	err = run(ctx, cfg, log, func(p *committer.Pipeline) {
		plMu.Lock()
		pl = p
		plMu.Unlock()
	})
	stopGen()
	wg.Wait()
	if err != nil {
		return err
	}
	if genErr != nil && !errors.Is(genErr, context.Canceled) {
		return fmt.Errorf("generator: %w", genErr)
	}
	if err := summarize(out, table, produced.Load()); err != nil {
		return err
	}
	if hms != nil {
		fmt.Fprintf(out, "metastore: %d partitions registered in quickstart.logs\n", len(hms.Partitions("quickstart", "logs")))
	}
	return nil
}

// createQuickstartTable creates the table the config describes, as an
// operator would with the output of landfall hive ddl.
func createQuickstartTable(cfg *committer.Config, log *slog.Logger) error {
	client, err := hive.NewClient(cfg.Hive.Metastore, hive.WithLogger(log))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := client.CreateDatabase(ctx, cfg.Hive.Database, strings.TrimSuffix(cfg.Warehouse.URI, "/logs")); err != nil {
		return err
	}
	_, err = ensureTable(ctx, client, cfg)
	return err
}

func loc() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.UTC
	}
	return l
}

// generate produces the simulated day at rate records per second.
func generate(ctx context.Context, brokers []string, topic string, dayStart time.Time, speed float64, day time.Duration, rate int, produced *atomic.Int64) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	g := loggen.New(uint64(time.Now().UnixNano()))
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var sent int64
	for {
		select {
		case <-ctx.Done():
			return cl.Flush(context.Background())
		case now := <-tick.C:
			elapsed := now.Sub(start)
			if elapsed >= day {
				return cl.Flush(ctx) // the day is over: the stream breaks
			}
			want := int64(elapsed.Seconds() * float64(rate))
			for ; sent < want; sent++ {
				et := dayStart.Add(time.Duration(float64(elapsed) * speed))
				v, _ := g.Next(nil, et)
				cl.Produce(ctx, &kgo.Record{Topic: topic, Value: v}, func(_ *kgo.Record, err error) {
					if err == nil {
						produced.Add(1)
					}
				})
			}
		}
	}
}

// summarize prints what landed. Sidecars (an lzo file's .lzo.index) are
// not data files: Hive skips them, and so does the count.
func summarize(out io.Writer, table string, produced int64) error {
	var parts []string
	files, success := map[string]int{}, map[string]bool{}
	err := filepath.WalkDir(table, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(table, p)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") {
				return filepath.SkipDir
			}
			return nil
		}
		dir := filepath.Dir(rel)
		if d.Name() == "_SUCCESS" {
			success[dir] = true
		} else if !strings.HasPrefix(d.Name(), ".") && !strings.HasSuffix(d.Name(), ".index") {
			if files[dir] == 0 {
				parts = append(parts, dir)
			}
			files[dir]++
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for d := range success {
		if files[d] == 0 {
			parts = append(parts, d)
		}
	}
	sort.Strings(parts)
	done := 0
	for _, d := range parts {
		if success[d] {
			done++
		}
	}
	fmt.Fprintf(out, "\nproduced %d records; %d partitions in %s, %d of them committed (_SUCCESS)\n", produced, len(parts), table, done)
	if done > 0 {
		n := 0
		for d := range success {
			n += files[d]
		}
		fmt.Fprintf(out, "  %d data files in the committed partitions, %.1f a partition (without --compaction, one per checkpoint)\n", n, float64(n)/float64(done))
	}
	for _, d := range parts {
		mark := "open"
		if success[d] {
			mark = "_SUCCESS"
		}
		fmt.Fprintf(out, "  %-36s %4d files  %s\n", d, files[d], mark)
	}
	return nil
}

// clearQuickstart removes what an earlier quickstart left in dir (its
// warehouse, etcd data and log) and reports whether there was any. It
// removes only those names, so a --dir pointed at the wrong place loses
// nothing else.
func clearQuickstart(dir string) (bool, error) {
	found := false
	for _, name := range []string{"warehouse", "etcd", "landfall.log"} {
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		found = true
		if err := os.RemoveAll(p); err != nil {
			return found, fmt.Errorf("quickstart: clear the previous run: %w", err)
		}
	}
	return found, nil
}
