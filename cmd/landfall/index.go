package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/index"
)

const indexUsage = `usage:
  landfall index tail --config FILE [--from earliest|latest|CURSOR] [--follow] [--json]
      print the index from a cursor: every entry's file actions; --json prints
      one object per entry whose "cursor" is what to save and resume from
  landfall index files --config FILE --partition log_date=…/log_hour=… [--json]
      print the live files of one partition (or sink area: _invalid, _late/…)
  landfall index verify --config FILE
      check the index against the warehouse; exits 1 listing the differences
`

func cmdIndex(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := runIndex(ctx, args, os.Stdout)
	if errors.Is(err, context.Canceled) {
		return nil // ^C ends a --follow
	}
	return err
}

// errDifferences is index verify's failure: the differences are printed.
var errDifferences = errors.New("the index and the warehouse differ")

func runIndex(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("index: want a subcommand\n%s", indexUsage)
	}
	fs := flag.NewFlagSet("index "+args[0], flag.ContinueOnError)
	cfgPath := fs.String("config", "landfall.yaml", "configuration file")
	from := fs.String("from", "earliest", "earliest, latest, or a cursor printed by an earlier tail")
	follow := fs.Bool("follow", false, "keep waiting for new entries")
	poll := fs.Duration("poll", time.Second, "with --follow, how often to look for the next entry")
	asJSON := fs.Bool("json", false, "print JSON, one object per line")
	partition := fs.String("partition", "", "Hive partition path or sink area")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := committer.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
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
	defer wfs.Close()
	// Retried read errors of a --follow go to stderr: stdout is the stream.
	r := index.Open(wfs, cfg.LogID, index.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))

	switch args[0] {
	case "tail":
		c, err := index.ParseCursor(*from)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		if !*follow {
			*poll = 0
		}
		return r.Follow(ctx, c, *poll, func(e *index.Entry) error { return printEntry(out, e, *asJSON) })
	case "files":
		if *partition == "" {
			return errors.New("index files: --partition is required, e.g. --partition log_date=20240301/log_hour=00")
		}
		files, err := r.LiveFiles(ctx, *partition)
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := printFile(out, f, *asJSON); err != nil {
				return err
			}
		}
		return nil
	case "verify":
		diffs, err := index.Verify(ctx, wfs, cfg.LogID)
		if err != nil {
			return err
		}
		for _, d := range diffs {
			fmt.Fprintln(out, d)
		}
		if len(diffs) > 0 {
			return fmt.Errorf("index verify: %d differences: %w", len(diffs), errDifferences)
		}
		fmt.Fprintln(out, "index verify: every live file is there and every data file is indexed")
		return nil
	default:
		return fmt.Errorf("index: unknown subcommand %q\n%s", args[0], indexUsage)
	}
}

// jsonEntry is tail --json's line: the entry with its cursor.
type jsonEntry struct {
	Cursor     string         `json:"cursor"`
	N          uint64         `json:"n"`
	Checkpoint uint64         `json:"checkpoint"`
	CommitTime time.Time      `json:"commit_time"`
	Snapshot   bool           `json:"snapshot,omitempty"`
	Actions    []index.Action `json:"actions"`
}

func printEntry(out io.Writer, e *index.Entry, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(jsonEntry{Cursor: index.After(e.N).String(), N: e.N, Checkpoint: e.Checkpoint,
			CommitTime: e.CommitTime, Snapshot: e.Snapshot, Actions: e.Actions})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	what := "entry"
	if e.Snapshot {
		what = "snapshot"
	}
	fmt.Fprintf(out, "# %s %d checkpoint %d at %s, %d actions (cursor %s)\n", what, e.N, e.Checkpoint,
		e.CommitTime.Format(time.RFC3339), len(e.Actions), index.After(e.N))
	for _, a := range e.Actions {
		var err error
		switch {
		case a.Add != nil:
			_, err = fmt.Fprintf(out, "add     %s\n", fileLine(*a.Add))
		case a.Remove != nil:
			_, err = fmt.Fprintf(out, "remove  %s\n", fileLine(*a.Remove))
		case a.PartitionComplete != nil:
			pc := a.PartitionComplete
			_, err = fmt.Fprintf(out, "complete %s files=%d rows=%d bytes=%d watermark=%s key=%s\n", pc.Partition,
				pc.Files, pc.Rows, pc.Bytes, time.UnixMilli(pc.Watermark).UTC().Format(time.RFC3339), pc.CommitKey)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func printFile(out io.Writer, f index.File, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(f)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintln(out, fileLine(f))
	return err
}

func fileLine(f index.File) string {
	parts := make([]int32, 0, len(f.Offsets))
	for p := range f.Offsets {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	var offs []string
	for _, p := range parts {
		offs = append(offs, fmt.Sprintf("%d:%d-%d", p, f.Offsets[p][0], f.Offsets[p][1]))
	}
	s := fmt.Sprintf("%s size=%d rows=%d offsets=%s", f.Path, f.Size, f.Rows, strings.Join(offs, ","))
	if f.EventMin != 0 || f.EventMax != 0 {
		s += fmt.Sprintf(" events=%s..%s", time.UnixMilli(f.EventMin).UTC().Format(time.RFC3339), time.UnixMilli(f.EventMax).UTC().Format(time.RFC3339))
	}
	if !f.DataChange {
		s += " data_change=false"
	}
	if f.Merge != "" {
		s += " merge=" + f.Merge
	}
	return s
}
