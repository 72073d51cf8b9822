package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer/fsys"
)

const compactUsage = `usage: landfall compact --config FILE --partition log_date=…/log_hour=… [--wait 1m]

Merges the small files of one committed partition into files of about
compaction.target_size, as landfall run does before each commit when
compaction.enabled is on: for tables written with compaction off, or before
it was turned on. It takes the logid's ownership (so landfall run must be
stopped: the command waits --wait for it, then fails), recovers like run,
merges with the same crash-safe steps, publishes one index entry (data
change off: incremental readers skip it), and re-commits the partition so
that the metastore's numFiles and totalSize describe the merged files.

A committed partition is visible while it is merged: between a merged
file's publish and its sources' retirement (renames) a query or a
directory lister can see both. Run it on partitions no job reads then.

`

func cmdCompact(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runCompact(ctx, args, os.Stdout)
}

func runCompact(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("compact", flag.ContinueOnError)
	cfgPath := fs.String("config", "landfall.yaml", "configuration file")
	partition := fs.String("partition", "", "the Hive partition path, e.g. log_date=20240301/log_hour=00")
	wait := fs.Duration("wait", time.Minute, "how long to wait for the logid's ownership (a running landfall holds it)")
	logLevel, logFormat := logFlags(fs)
	fs.Usage = func() { fmt.Fprint(fs.Output(), compactUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *partition == "" {
		return errors.New("compact: --partition is required, e.g. --partition log_date=20240301/log_hour=00")
	}
	log, err := newLogger(os.Stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	cfg, err := committer.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	endpoints, closeEtcd, err := etcdEndpoints(cfg)
	if err != nil {
		return err
	}
	defer closeEtcd()
	// The same client as run's: etcd.tls and the user's credentials.
	ecfg, err := etcdClientConfig(cfg, endpoints, log)
	if err != nil {
		return err
	}
	cli, err := dialEtcd(ctx, cfg, ecfg, log)
	if err != nil {
		return err
	}
	defer cli.Close()
	kc, err := kerberosLogin(cfg, nil)
	if err != nil {
		return err
	}
	if kc != nil {
		defer kc.Destroy()
	}
	wfs, err := openWarehouse(cfg.Warehouse.URI, warehouseOptions(cfg, kc)...)
	if err != nil {
		return warehouseErr(cfg, err)
	}
	wfs = fsys.WithDeadline(wfs, cfg.Warehouse.Timeout)
	defer wfs.Close()
	reg := prometheus.NewRegistry()
	steps, closeHive, err := hiveSteps(ctx, cfg, kc, wfs, newTableCache(cli, cfg), reg, log)
	if err != nil {
		return err
	}
	defer closeHive()
	format, err := newFormat(cfg.Format, cfg.EventTime.Timezone)
	if err != nil {
		return err
	}

	octx, cancel := context.WithTimeout(ctx, *wait)
	store, err := state.Open(octx, cli, cfg.LogID, state.WithPrefix(cfg.Etcd.Prefix), state.WithLeaseTTL(cfg.Etcd.LeaseTTL),
		state.WithConnectTimeout(cfg.Etcd.ConnectTimeout), state.WithLogger(log), state.WithProcess(thisProcess(cfg)))
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("compact: logid %s is still owned by another process after --wait %v: stop its landfall run first (with compaction.enabled it merges partitions itself before committing them)", cfg.LogID, *wait)
		}
		if errors.Is(err, state.ErrDenied) {
			return explainDenied(cfg, err)
		}
		return err
	}
	defer store.Close()
	p, err := committer.New(*cfg, committer.Options{FS: wfs, Store: store, Format: format, Steps: steps, Registerer: reg, Logger: log})
	if err != nil {
		return err
	}
	res, err := p.Compact(ctx, *partition)
	if err != nil {
		return err
	}
	if len(res.Unindexed) > 0 {
		fmt.Fprintf(out, "%s: %d data files are not in the index (written before the table had one, or by hand) and were left as they are; `landfall index verify` lists them\n", res.Partition, len(res.Unindexed))
	}
	switch {
	case res.Merges == 0:
		fmt.Fprintf(out, "%s: nothing to merge: its %d live files are each about compaction.target_size (%d bytes) or alone\n", res.Partition, res.FilesBefore, cfg.Compaction.TargetSize)
	default:
		fmt.Fprintf(out, "%s: %d files merged into %d (%d merges, %d bytes written)", res.Partition, res.FilesBefore, res.FilesAfter, res.Merges, res.MergedBytes)
		if res.Recommitted {
			fmt.Fprint(out, "; re-committed, the commit steps (metastore statistics) describe the merged files")
		}
		fmt.Fprintln(out)
	}
	return nil
}
