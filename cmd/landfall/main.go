// Command landfall streams one Kafka topic into a Hive table, exactly once.
//
//	landfall run --config landfall.yaml [--log-level info] [--log-format text|json]
//	landfall quickstart [--duration 75s] [--dir out/quickstart] [--format text]
//	landfall hive ddl|create --config landfall.yaml
//	landfall version
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	_ "time/tzdata" // partition time zones must not depend on the host's zoneinfo

	krb "github.com/jcmturner/gokrb5/v8/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/internal/security"
	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/fsys"
)

// version is stamped at build (make build: -ldflags -X main.version=$(git
// describe --always --dirty)); buildVersion falls back to what the Go
// toolchain recorded.
var version = ""

// started is when this process started, for `landfall status`.
var started = time.Now()

// thisProcess is what `landfall status` shows of this process while it
// holds or waits for the logid.
func thisProcess(cfg *committer.Config) state.Process {
	host, _ := os.Hostname()
	return state.Process{Host: host, PID: os.Getpid(), Version: buildVersion(), Started: started.UTC(), Parallelism: cfg.Parallelism}
}

// buildVersion is the stamped version, else the module version (go
// install …@v1.2.3) or the VCS revision the toolchain recorded, else dev.
// Every data file carries it (landfall.version), so an unstamped build
// would leave files that nobody can trace to a commit.
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	committer.Version = buildVersion()
	var err error
	switch os.Args[1] {
	case "run":
		err = cmdRun(os.Args[2:])
	case "quickstart":
		err = cmdQuickstart(os.Args[2:], os.Stdout)
	case "hive":
		err = cmdHive(os.Args[2:])
	case "index":
		err = cmdIndex(os.Args[2:])
	case "compact":
		err = cmdCompact(os.Args[2:])
	case "status":
		err = cmdStatus(os.Args[2:])
	case "version", "--version", "-version", "-v":
		fmt.Println("landfall", committer.Version)
	case "-h", "--help", "-help", "help":
		usage(os.Stdout)
	default:
		fmt.Fprintf(os.Stderr, "landfall: unknown command %q\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "landfall:", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `landfall streams one Kafka topic into a Hive table, exactly once.

usage:
  landfall run --config landfall.yaml     run against Kafka, etcd and a warehouse (one process per logid)
  landfall quickstart [flags]             run on an embedded default (no cluster needed); starts fresh each time
  landfall hive ddl --config FILE         print the CREATE TABLE that matches a config
  landfall hive create --config FILE      create that table through the metastore's Thrift API
  landfall index tail|files|verify --config FILE
                                          follow the file index, list a partition's live files, check it
  landfall compact --config FILE --partition log_date=…/log_hour=…
                                          merge one committed partition's small files (landfall run stopped)
  landfall status --config FILE           who owns the logid, lag and event time per Kafka partition, the
                                          watermark, commit queue and open partitions (reads etcd and Kafka only)
  landfall version                        print the version (also --version)
  landfall COMMAND --help                 the flags of a command

flags of run and hive:
  --config FILE        the configuration (default landfall.yaml)
  --log-level LEVEL    debug, info, warn or error (default info)
  --log-format FORMAT  text or json (default text); logs go to stderr

configuration: every key, with its default, is in landfall.example.yaml and
README.md; an unknown or wrong key fails at start naming it.

signals: SIGINT or SIGTERM stops gracefully (the final checkpoint, then the
ownership is released so a successor starts at once); a second one is not
needed. SIGKILL is safe too: nothing is lost or duplicated, and a successor
waits out etcd.lease_ttl.

exit status: 0 after a graceful stop, 1 on an error (bad configuration, a
table that doesn't match, etcd unreachable for etcd.connect_timeout, lost
ownership), 2 on a usage error.
`)
}

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	cfgPath := fs.String("config", "landfall.yaml", "configuration file (every key: landfall.example.yaml)")
	logLevel, logFormat := logFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: landfall run --config landfall.yaml [--log-level info] [--log-format text]\n\nRuns until SIGINT or SIGTERM, then stops after a final checkpoint.\n\n")
		fs.PrintDefaults()
	}
	_ = fs.Parse(args)
	log, err := newLogger(os.Stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	cfg, err := committer.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	log.Info("starting", "version", committer.Version, "logid", cfg.LogID)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, cfg, log, nil)
}

// logFlags declares --log-level and --log-format, the same on every command
// that logs, so that all of them log alike.
func logFlags(fs *flag.FlagSet) (level, format *string) {
	return fs.String("log-level", "info", "debug, info, warn or error"),
		fs.String("log-format", "text", "text (logfmt) or json, one object a line")
}

// newLogger is the one logger of a command. An unknown level or format is
// an error: a typo must not silently drop the debug logs asked for.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q: want text or json", format)
}

// run wires the real clients and runs the pipeline until ctx is done.
// started, if set, receives the pipeline each time it owns the logid.
//
// A pipeline that fails once it has run (a DataNode lost mid-write, a
// Kafka or etcd error that outlasts the clients' retries) is started again
// in this process after a backoff, from the last durable checkpoint: the
// recovery a crash gets, without waiting for a supervisor. Errors before
// the first run consumes (configuration, a table that doesn't match, a
// topic or service that can't be reached) end run, and so does a lost
// ownership: another process owns the logid now.
func run(ctx context.Context, cfg *committer.Config, log *slog.Logger, started func(*committer.Pipeline)) error {
	outer := prometheus.NewRegistry()
	outer.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	restarts := prometheus.NewCounter(prometheus.CounterOpts{Name: "landfall_restarts_total",
		Help: "Pipeline restarts in this process after a failure, each from the last durable checkpoint."})
	outer.MustRegister(restarts)
	// Each attempt registers its metrics afresh; the endpoint serves the
	// current attempt's beside the process's.
	var current atomic.Pointer[prometheus.Registry]
	current.Store(prometheus.NewRegistry())
	var hc health // /healthz and /readyz beside /metrics
	if cfg.Metrics.Listen != "" {
		stc, err := cfg.Metrics.TLS.Server("metrics.tls", time.Now())
		if err != nil {
			return err
		}
		g := prometheus.Gatherers{outer, prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return current.Load().Gather() })}
		var metrics http.Handler = promhttp.HandlerFor(g, promhttp.HandlerOpts{})
		if cfg.Metrics.BearerTokenFile != "" || cfg.Metrics.BearerTokenEnv != "" {
			token, err := cfg.Metrics.BearerToken()
			if err != nil {
				return err
			}
			metrics = bearer(token, metrics)
		}
		ln, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			return fmt.Errorf("metrics.listen: %w", err)
		}
		if stc != nil {
			ln = tls.NewListener(ln, stc)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", metrics)
		hc.register(mux)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		log.Info("metrics", "listen", ln.Addr().String(), "tls", stc != nil)
	}

	// Kerberos and then Kafka's TLS and SASL, checked before anything
	// else: a keytab the KDC refuses or a credential the brokers refuse
	// must stop the start before the warehouse or etcd is touched. One
	// Kerberos client for every attempt, for HDFS and GSSAPI alike; it
	// keeps itself logged in from the keytab for as long as it runs.
	kc, err := kerberosLogin(cfg, log)
	if err != nil {
		return err
	}
	if kc != nil {
		defer kc.Destroy()
	}
	kopts, err := security.Kafka("kafka", cfg.Kafka.TLS, cfg.Kafka.SASL, kc, time.Now(), log)
	if err != nil {
		return err
	}
	if err := checkKafka(ctx, cfg, kc, kopts, log); err != nil {
		return err
	}
	wopts := warehouseOptions(cfg, kc)

	endpoints, closeEtcd, err := etcdEndpoints(cfg)
	if err != nil {
		return err
	}
	defer closeEtcd()

	ran := false
	backoff := restartBackoff
	// One format for all attempts: its memory budget bounds the process,
	// and a failed run's abandoned files give their share back to it.
	var format writer.Format
	for {
		reg := prometheus.NewRegistry()
		current.Store(reg)
		t0 := time.Now()
		var attempt *committer.Pipeline
		err := runOnce(ctx, cfg, endpoints, kc, kopts, wopts, &format, reg, log, func(p *committer.Pipeline) {
			attempt = p
			hc.started(p)
			if started != nil {
				started(p)
			}
		})
		hc.stopped()
		if ctx.Err() != nil {
			// A graceful stop; its final checkpoint may still have failed.
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		// A run counts once it consumes: one that fails before (a topic
		// that doesn't exist, a corrupt checkpoint) is a set-up error, and
		// retrying would hide it. After, even a fault before the first
		// checkpoint (a DataNode restarting) is one to ride out.
		ran = ran || attempt != nil && attempt.Progress().Consuming
		if err == nil || !ran || errors.Is(err, state.ErrNotOwner) {
			return err
		}
		if time.Since(t0) > time.Minute {
			backoff = restartBackoff
		}
		restarts.Inc()
		log.Error("pipeline failed; restarting from the last checkpoint", "err", err, "after", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxRestartBackoff)
	}
}

// pauseAt returns a failpoint hook that freezes the process (SIGSTOP, as
// a GC or VM pause would) the first time it reaches the named point of the
// checkpoint protocol (committer.FP…), or nil. Only the end-to-end tests
// set LANDFALL_TEST_PAUSE_AT: they freeze a process where no signal from
// outside could time it, then thaw it with SIGCONT.
func pauseAt(name string, log *slog.Logger) func(string) error {
	if name == "" {
		return nil
	}
	var once sync.Once
	return func(at string) error {
		if at == name {
			once.Do(func() {
				log.Warn("pausing at failpoint (LANDFALL_TEST_PAUSE_AT)", "failpoint", at)
				_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
			})
		}
		return nil
	}
}

// restartBackoff is the first wait before an in-process restart; it
// doubles up to maxRestartBackoff while attempts keep failing within a
// minute.
var restartBackoff = time.Second

const maxRestartBackoff = 30 * time.Second

// openWarehouse opens the warehouse; tests put faults behind it.
var openWarehouse = fsys.Open

// etcdEndpoints are etcd.endpoints, or, for "embedded", those of an etcd
// started here on etcd.embedded_dir (stopped by the returned func).
func etcdEndpoints(cfg *committer.Config) ([]string, func(), error) {
	if cfg.Etcd.Endpoints[0] != "embedded" {
		return cfg.Etcd.Endpoints, func() {}, nil
	}
	e, err := state.StartEmbedded(cfg.Etcd.EmbeddedDir, 0, 0)
	if err != nil {
		return nil, nil, err
	}
	return []string{e.URL()}, func() { e.Close() }, nil
}

// runOnce is one attempt of run: clients, ownership, recovery and the
// pipeline, all closed again when it returns. It makes *format on the first
// attempt, once the table has had its say on the schema.
func runOnce(ctx context.Context, cfg *committer.Config, endpoints []string, kc *krb.Client, kopts []kgo.Opt, wopts []fsys.OpenOption, format *writer.Format, reg *prometheus.Registry, log *slog.Logger, started func(*committer.Pipeline)) error {
	ecfg, err := etcdClientConfig(cfg, endpoints, log)
	if err != nil {
		return err
	}
	cli, err := dialEtcd(ctx, cfg, ecfg, log)
	if err != nil {
		return err
	}
	defer cli.Close()

	wfs, err := openWarehouse(cfg.Warehouse.URI, wopts...)
	if err != nil {
		return warehouseErr(cfg, err)
	}
	wfs = fsys.WithDeadline(wfs, cfg.Warehouse.Timeout)
	defer wfs.Close()
	steps, closeHive, err := hiveSteps(ctx, cfg, kc, wfs, newTableCache(cli, cfg), reg, log)
	if err != nil {
		return err
	}
	defer closeHive()
	if *format == nil {
		if *format, err = newFormat(cfg.Format, cfg.EventTime.Timezone); err != nil {
			return err
		}
	}

	log.Info("acquiring ownership", "logid", cfg.LogID)
	store, err := state.Open(ctx, cli, cfg.LogID, state.WithPrefix(cfg.Etcd.Prefix), state.WithLeaseTTL(cfg.Etcd.LeaseTTL),
		state.WithConnectTimeout(cfg.Etcd.ConnectTimeout), state.WithLogger(log), state.WithProcess(thisProcess(cfg)))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, state.ErrDenied) {
			return explainDenied(cfg, err)
		}
		return err
	}
	defer store.Close()
	log.Info("owner", "logid", cfg.LogID)

	p, err := committer.New(*cfg, committer.Options{FS: wfs, Store: store, Format: *format, Steps: steps, Registerer: reg, Logger: log, KafkaOpts: kopts,
		Failpoint: pauseAt(os.Getenv("LANDFALL_TEST_PAUSE_AT"), log)})
	if err != nil {
		return err
	}
	if started != nil {
		started(p)
	}
	err = p.Run(ctx)
	if err != nil && ctx.Err() == nil && !errors.Is(err, state.ErrNotOwner) {
		// A zombie's first sign may be anything (its files swept away by
		// the new owner's recovery): ask etcd before restarting.
		octx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		own, oerr := store.Owner(octx)
		cancel()
		if oerr == nil && !own {
			return fmt.Errorf("lost ownership (the run failed with: %v): %w", err, state.ErrNotOwner)
		}
	}
	return err
}
