package committer_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/lzo"
	"github.com/landfall/landfall/writer/orc"
)

// BenchmarkPipeline measures the whole pipeline (consume, parse, route,
// write text without compression, checkpoint every second) on a fixed data
// set in kfake, next to the consume-only rate of the same franz-go client
// settings on the same data in the same run, and reports the ratio. Both are
// timed from their first record to the last, so start-up (etcd ownership,
// recovery, metadata) is left out of the wall rates.
//
// The topic's compression, set by its producers, is a sub-benchmark: the
// consumer pays for decompression in both figures, so it moves the ratio.
// snappy is franz-go's default and the headline figure.
//
// The table format is the next level (all for snappy, text for the other
// codecs): text (no compression) and lzo, each against a floor in the same
// format; orc (ORC+zstd with the quickstart's schema, each record scanned
// once for its event time and its columns) and orc-2pass (the same ORC
// format hidden behind a wrapper, so the pipeline scans each record for its
// event time and the encoder scans it again, as before the one pass), both
// against the text floor; text-par2 and orc-par2 are text and orc with
// parallelism: 2 (two shards), against the same floors. kfake serves the
// data from the same process, so at 2 cores the shards share them with it.
//
//	go test -run '^$' -bench 'BenchmarkPipeline/producer=snappy' -benchtime 3x ./committer/
func BenchmarkPipeline(b *testing.B) {
	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
	}{
		{"snappy", kgo.SnappyCompression()},
		{"none", kgo.NoCompression()},
		{"lz4", kgo.Lz4Compression()},
		{"zstd", kgo.ZstdCompression()},
	}
	for _, c := range codecs {
		b.Run("producer="+c.name, func(b *testing.B) {
			formats := []string{"text", "lzo", "orc", "orc-2pass", "text-par2", "orc-par2"}
			if c.name != "snappy" {
				formats = formats[:1] // the codec moves the consumer's cost, not the format's
			}
			for _, format := range formats {
				b.Run("format="+format, func(b *testing.B) { benchPipeline(b, c.codec, format) })
			}
		})
	}
}

// twoPass hides the ORC format's type from the pipeline, which then finds
// the event time with jsonscan and hands the encoder the raw record.
type twoPass struct{ writer.Format }

// benchFormat is the part format of a pipeline benchmark and what it sets
// in the config.
func benchFormat(b *testing.B, name string) (writer.Format, func(*committer.Config)) {
	if base, ok := strings.CutSuffix(name, "-par2"); ok {
		f, set := benchFormat(b, base)
		return f, func(c *committer.Config) { set(c); c.Parallelism = 2 }
	}
	switch name {
	case "text":
		f, _ := writer.NewText("none")
		return f, func(*committer.Config) {}
	case "lzo":
		f, err := lzo.NewFormat()
		if err != nil {
			b.Fatal(err)
		}
		return f, func(c *committer.Config) { c.Format.Name, c.Format.Compression = "lzo", "lzo" }
	}
	schema, err := orc.ParseSchema(loggen.Schema)
	if err != nil {
		b.Fatal(err)
	}
	f, err := orc.NewFormat(schema)
	if err != nil {
		b.Fatal(err)
	}
	cfg := func(c *committer.Config) { c.Format.Name, c.Format.Schema = "orc", loggen.Schema }
	if name == "orc-2pass" {
		return twoPass{f}, cfg
	}
	return f, cfg
}

func benchPipeline(b *testing.B, codec kgo.CompressionCodec, format string) {
	const n = 400_000
	// Each sub-benchmark's cleanups close its cluster (which holds the
	// data set), so it does not weigh on the next.
	e := newEnv(b, 4)
	resetPeakRSS()
	// The warehouse goes to tmpfs where there is one: this machine's disk
	// takes buffered writes at ~260 MB/s, which would measure the VM, not
	// landfall. LANDFALL_BENCH_WAREHOUSE overrides it with a directory or an
	// hdfs://host:port/dir URI (make bench-hdfs).
	if d := benchDir(b); d != "" {
		e.dir = d
	}
	bytes := produceBench(b, e, n, codec)
	mb := float64(bytes) / 1e6
	b.ResetTimer()
	var consume, pipeline, consumeCPU, pipelineCPU, writeCPU time.Duration
	var warehouseBytes int64
	var stalls int
	var stallSum, stallMax time.Duration
	for i := 0; i < b.N; i++ {
		c0 := cpuTime()
		consume += consumeOnly(b, e, n, nil)
		c1 := cpuTime()
		d, pr := runPipeline(b, e, n, i, format, time.Second)
		pipeline += d
		stalls += pr.Stalls
		stallSum += pr.StallTotal
		stallMax = max(stallMax, pr.StallMax)
		c2 := cpuTime()
		warehouseBytes += dataBytes(b, e)
		emptyWarehouse(b, e)
		c3 := cpuTime()
		consumeWrite(b, e, n, i, format)
		c4 := cpuTime()
		emptyWarehouse(b, e)
		consumeCPU += c1 - c0
		pipelineCPU += c2 - c1
		writeCPU += c4 - c3
	}
	b.StopTimer()
	cs, ps := consume.Seconds()/float64(b.N), pipeline.Seconds()/float64(b.N)
	// Per core: records per CPU-second of the whole process (kfake serving
	// the data is in both; the pipeline's figure also pays start-up and its
	// final checkpoint).
	ccpu, pcpu := consumeCPU.Seconds()/float64(b.N), pipelineCPU.Seconds()/float64(b.N)
	// The floor of any sink that writes the records to files: consume, then
	// append every record unchecked to a part file per Kafka partition (lzo
	// for lzo, text otherwise), no parsing. floor-ratio is the pipeline's records
	// per CPU-second against the floor's.
	wcpu := writeCPU.Seconds() / float64(b.N)
	b.ReportMetric(ccpu/wcpu, "consume+write-per-core-ratio")
	b.ReportMetric(wcpu/pcpu, "floor-ratio")
	b.ReportMetric(n/ccpu, "consume-rec/cpu-s")
	b.ReportMetric(n/pcpu, "pipeline-rec/cpu-s")
	b.ReportMetric(ccpu/pcpu, "per-core-ratio")
	b.ReportMetric(n/cs, "consume-rec/s")
	b.ReportMetric(mb/cs, "consume-MB/s")
	b.ReportMetric(n/ps, "pipeline-rec/s")
	b.ReportMetric(mb/ps, "pipeline-MB/s")
	b.ReportMetric(cs/ps, "pipeline/consume")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(float64(warehouseBytes)/float64(b.N)/n, "file-B/rec")
	// How long the consume loop stopped for each periodic checkpoint (the
	// final one at the stop is not a stall).
	if stalls > 0 {
		b.ReportMetric(float64(stallSum.Microseconds())/1e3/float64(stalls), "stall-ms/ckpt")
		b.ReportMetric(float64(stallMax.Microseconds())/1e3, "max-stall-ms")
	}
}

// produceBench fills the benchmark's topic with n generated records (no bad
// or late ones, event times 50 ms apart) and returns their bytes.
func produceBench(b *testing.B, e *env, n int, codec kgo.CompressionCodec) int64 {
	prod, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerBatchCompression(codec))
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	g := loggen.New(7)
	g.BadFraction, g.LateFraction = 0, 0
	et := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	var bytes int64
	recs := make([]*kgo.Record, 0, 10000)
	for i := 0; i < n; i++ {
		v, _ := g.Next(nil, et)
		bytes += int64(len(v))
		et = et.Add(50 * time.Millisecond)
		recs = append(recs, &kgo.Record{Topic: e.topic, Value: v})
		if len(recs) == cap(recs) || i == n-1 {
			if err := prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	return bytes
}

// BenchmarkCheckpointStall measures how long the consume loop stops
// consuming for each checkpoint: the pipeline of BenchmarkPipeline with a
// checkpoint every 100 ms, so that a run holds several. stall-ms/ckpt is the
// mean stop, ckpt-ms the mean time from a checkpoint's start to its state
// write. Point LANDFALL_BENCH_WAREHOUSE at HDFS for the figure that matters
// (make bench-hdfs runs it).
//
//	go test -run '^$' -bench 'BenchmarkCheckpointStall' -benchtime 3x ./committer/
func BenchmarkCheckpointStall(b *testing.B) {
	for _, format := range []string{"text", "orc"} {
		b.Run("format="+format, func(b *testing.B) {
			const n = 400_000
			e := newEnv(b, 4)
			if d := benchDir(b); d != "" {
				e.dir = d
			}
			produceBench(b, e, n, kgo.SnappyCompression())
			b.ResetTimer()
			var stalls int
			var stallSum, stallMax time.Duration
			var ckpts uint64
			var wall time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				_, pr := runPipeline(b, e, n, i, format, 100*time.Millisecond)
				wall += time.Since(t0)
				stalls += pr.Stalls
				stallSum += pr.StallTotal
				stallMax = max(stallMax, pr.StallMax)
				ckpts += pr.Checkpoint
				emptyWarehouse(b, e)
			}
			b.StopTimer()
			if stalls == 0 {
				b.Fatal("no periodic checkpoint ran: the runs were shorter than the interval")
			}
			b.ReportMetric(float64(stallSum.Microseconds())/1e3/float64(stalls), "stall-ms/ckpt")
			b.ReportMetric(float64(stallMax.Microseconds())/1e3, "max-stall-ms")
			b.ReportMetric(float64(stalls)/float64(b.N), "ckpts/run")
			b.ReportMetric(100*stallSum.Seconds()/wall.Seconds(), "stalled-%")
		})
	}
}

func kafkaOpts(e *env) []kgo.Opt {
	return []kgo.Opt{kgo.SeedBrokers(e.cluster.ListenAddrs()...), kgo.FetchMaxBytes(32 << 20), kgo.FetchMaxPartitionBytes(32 << 20), kgo.FetchMaxWait(500 * time.Millisecond)}
}

// consumeWrite consumes the data and writes every record, unparsed, to one
// part file per Kafka partition in the benchmark's directory: lzo for lzo,
// text for the others.
func consumeWrite(b *testing.B, e *env, n, run int, format string) {
	lfs, err := e.fs()
	if err != nil {
		b.Fatal(err)
	}
	if c, ok := lfs.(io.Closer); ok {
		defer c.Close()
	}
	// ORC can't take records unparsed: its floor is text's.
	if format != "lzo" { // text-par2's floor is text's
		format = "text"
	}
	f, _ := benchFormat(b, format)
	parts := map[int32]*writer.Part{}
	consumeOnly(b, e, n, func(r *kgo.Record) {
		p := parts[r.Partition]
		if p == nil {
			if p, err = writer.Create(lfs, f, fmt.Sprintf("floor-%d-%d%s", run, r.Partition, f.Ext())); err != nil {
				b.Fatal(err)
			}
			parts[r.Partition] = p
		}
		if err := p.Append(r.Value); err != nil {
			b.Fatal(err)
		}
	})
	for _, p := range parts {
		if _, err := p.Roll(nil); err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
}

func consumeOnly(b *testing.B, e *env, n int, each func(*kgo.Record)) time.Duration {
	offs := map[int32]kgo.Offset{}
	for p := int32(0); p < 4; p++ {
		offs[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(append(kafkaOpts(e), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{e.topic: offs}))...)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	var start time.Time
	got := 0
	var sink int
	for got < n {
		fs := cl.PollRecords(context.Background(), 50000)
		if start.IsZero() && fs.NumRecords() > 0 {
			start = time.Now()
		}
		fs.EachRecord(func(r *kgo.Record) {
			sink += len(r.Value)
			if each != nil {
				each(r)
			}
		})
		got += fs.NumRecords()
	}
	return time.Since(start)
}

func runPipeline(b *testing.B, e *env, n, run int, format string, interval time.Duration) (time.Duration, committer.Progress) {
	f, setFormat := benchFormat(b, format)
	cfg := e.config(func(c *committer.Config) {
		c.LogID = e.logid + "-" + strconv.Itoa(run)
		c.Checkpoint.Interval = interval
		c.Kafka.FetchMaxBytes = 32 << 20
		setFormat(c)
	})
	// A 2 s lease can lapse on a machine this benchmark loads.
	in := e.start(cfg, opts{format: f, leaseTTL: 15 * time.Second})
	var start time.Time
	for {
		got := in.p.Progress().Records
		if start.IsZero() && got > 0 {
			start = time.Now()
		}
		if got >= int64(n) {
			break
		}
		select {
		case err := <-in.done:
			// Else this loop waits for records nobody consumes.
			b.Fatalf("the pipeline stopped after %d of %d records: %v", got, n, err)
		default:
		}
		time.Sleep(200 * time.Microsecond)
	}
	d := time.Since(start)
	in.stop(e.t)
	return d, in.p.Progress()
}

// emptyWarehouse removes what a run wrote, outside the measured spans, so
// that every run writes into memory the kernel has just freed (as on a host
// whose page cache recycles) rather than into pages the kernel has not used
// lately, which in this VM cost a hypervisor fault each (freed memory goes
// back to the host): without it, the write alone measured anywhere from
// 300 to 1000 ns a record.
func emptyWarehouse(b *testing.B, e *env) {
	if strings.Contains(e.dir, "://") {
		return
	}
	ents, err := os.ReadDir(e.dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range ents {
		if err := os.RemoveAll(filepath.Join(e.dir, d.Name())); err != nil {
			b.Fatal(err)
		}
	}
}

// dataBytes is the size of the committed data files (.orc, .txt) a run
// left in the warehouse, sidecars and state aside.
func dataBytes(b *testing.B, e *env) int64 {
	if strings.Contains(e.dir, "://") {
		return 0
	}
	var n int64
	err := filepath.WalkDir(e.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(p); ext == ".orc" || ext == ".txt" {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func benchDir(b *testing.B) string {
	base := os.Getenv("LANDFALL_BENCH_WAREHOUSE")
	if strings.HasPrefix(base, "hdfs://") {
		// Each sub-benchmark its own directory; left in HDFS for a look.
		return fmt.Sprintf("%s/landfall-bench-%d", strings.TrimSuffix(base, "/"), time.Now().UnixNano())
	}
	if base == "" {
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			base = "/dev/shm"
		}
	}
	if base == "" {
		return ""
	}
	d, err := os.MkdirTemp(base, "landfall-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS gives back the memory earlier benchmarks freed and restarts
// the kernel's high-water mark (VmHWM, which otherwise holds the process's
// peak since start) so that each sub-benchmark reports its own.
func resetPeakRSS() {
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS is the process's high-water resident set (kfake's copy of the data
// included), from /proc.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
