package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	krb "github.com/jcmturner/gokrb5/v8/client"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/internal/security"
	"github.com/landfall/landfall/state"
)

const statusUsage = `usage: landfall status --config FILE [--output text|json] [--timeout 10s]

Prints what a logid's landfall is doing, from etcd and Kafka, without
taking part: who owns the logid and who stands by (lease, host, pid,
version, start time), the last
durable checkpoint, each Kafka partition's next offset, end (the last
stable offset), lag and largest event time, the watermark and commit
cursor, the commit queue, the open partitions, and what recovery would
finish (pending files, merges, index entries). It never writes.

It exits 1 when a part could not be read (etcd or Kafka unreachable, a
corrupt checkpoint) after printing the rest, so that a script can tell.

`

func cmdStatus(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runStatus(ctx, args, os.Stdout)
}

// statusReport is `landfall status --output json`; the text form prints
// the same fields.
type statusReport struct {
	LogID string `json:"logid"`
	Topic string `json:"topic"`
	// Owner is the process holding the logid; nil when none does.
	Owner *statusOwner `json:"owner"`
	// Standbys are processes waiting to take over; StandbyProcesses
	// what they published of themselves.
	Standbys         int               `json:"standbys"`
	StandbyProcesses []statusStandby   `json:"standby_processes,omitempty"`
	Checkpoint       *statusCheckpoint `json:"checkpoint"`
	Partitions       []statusKafkaPart `json:"kafka_partitions"`
	// Lag is the sum of the partitions' lags; -1 when Kafka could not be
	// asked.
	Lag     int64          `json:"lag"`
	Commits []statusCommit `json:"commit_queue"`
	Open    []statusOpen   `json:"open_partitions"`
	// Errors are the parts that could not be read.
	Errors []string `json:"errors,omitempty"`
}

type statusOwner struct {
	Lease string `json:"lease"`
	// Epoch is the ownership's epoch (the lock's etcd revision).
	Epoch int64 `json:"epoch"`
	// TTLSeconds is what is left of the owner's lease; it is renewed
	// while the owner lives.
	TTLSeconds int64 `json:"ttl_s"`
	// Process is what the owner published of itself (host, pid,
	// version); nil for a landfall from before it did.
	Process *state.Process `json:"process,omitempty"`
}

type statusStandby struct {
	Lease   string         `json:"lease"`
	Process *state.Process `json:"process,omitempty"`
}

type statusCheckpoint struct {
	Seq             uint64     `json:"seq"`
	Epoch           int64      `json:"epoch"`
	Watermark       *time.Time `json:"watermark,omitempty"`
	CommitCursor    *time.Time `json:"commit_cursor,omitempty"`
	IdleCheckpoints int        `json:"idle_checkpoints"`
	PendingFiles    int        `json:"pending_files"`
	Merges          int        `json:"merges"`
	IndexPending    int        `json:"index_entries_pending"`
	IndexNext       uint64     `json:"index_next"`
	Committed       int        `json:"committed_partitions_retained"`
}

type statusKafkaPart struct {
	Partition int32 `json:"partition"`
	// Next is the next offset landfall consumes (-1: none stored yet).
	Next int64 `json:"next"`
	// End is the partition's last stable offset, -1 when unknown.
	End          int64      `json:"end"`
	Lag          int64      `json:"lag"`
	MaxEventTime *time.Time `json:"max_event_time,omitempty"`
	// Shard is the owner's shard that consumes it, when the owner runs
	// with parallelism above 1.
	Shard *int `json:"shard,omitempty"`
}

type statusCommit struct {
	Partition string    `json:"partition"`
	Update    bool      `json:"update"`
	Queued    time.Time `json:"queued"`
	StepsDone int       `json:"steps_done"`
	Attempts  int       `json:"attempts"`
	Files     int64     `json:"files"`
	Rows      int64     `json:"rows"`
	Bytes     int64     `json:"bytes"`
}

type statusOpen struct {
	Partition string    `json:"partition"`
	Start     time.Time `json:"start"`
	Files     int64     `json:"files"`
	Rows      int64     `json:"rows"`
	Bytes     int64     `json:"bytes"`
}

func runStatus(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	cfgPath := fs.String("config", "landfall.yaml", "configuration file")
	output := fs.String("output", "text", "text or json")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for etcd and Kafka in all")
	fs.Usage = func() { fmt.Fprint(fs.Output(), statusUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("status: --output %q: want text or json", *output)
	}
	cfg, err := committer.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if cfg.Etcd.Endpoints[0] == "embedded" {
		// The embedded etcd lives inside landfall run's process: a second
		// one on the same directory can't start while it runs.
		return fmt.Errorf("status: etcd.endpoints is embedded (inside landfall run's process, data in %s): status reads a shared etcd; while run is up, its /metrics on metrics.listen shows progress", cfg.Etcd.EmbeddedDir)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep := readStatus(ctx, cfg)
	if *output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printStatus(out, rep)
	}
	if len(rep.Errors) > 0 {
		return fmt.Errorf("status incomplete: %s", strings.Join(rep.Errors, "; "))
	}
	return nil
}

// readStatus gathers the report; what can't be read is in its Errors.
func readStatus(ctx context.Context, cfg *committer.Config) *statusReport {
	rep := &statusReport{LogID: cfg.LogID, Topic: cfg.Kafka.Topic, Lag: -1}
	fail := func(what string, err error) { rep.Errors = append(rep.Errors, what+": "+err.Error()) }
	var cp *state.Checkpoint
	if cli, err := statusEtcd(ctx, cfg); err != nil {
		fail("etcd", err)
	} else {
		defer cli.Close()
		if err := readOwner(ctx, cli, cfg, rep); err != nil {
			fail("etcd: owner", err)
		}
		if cp, err = state.Peek(ctx, cli, cfg.LogID, state.WithPrefix(cfg.Etcd.Prefix)); err != nil {
			if errors.Is(err, state.ErrDenied) {
				err = explainDenied(cfg, err)
			}
			fail("etcd: checkpoint", err)
		}
	}
	if cp != nil {
		fillCheckpoint(rep, cp)
	}
	ends, err := statusEnds(ctx, cfg)
	if err != nil {
		fail("kafka", err)
	}
	fillPartitions(rep, cp, ends, err == nil)
	return rep
}

func statusEtcd(ctx context.Context, cfg *committer.Config) (*clientv3.Client, error) {
	ecfg, err := etcdClientConfig(cfg, cfg.Etcd.Endpoints, nil)
	if err != nil {
		return nil, err
	}
	ecfg.Context = ctx
	if dl, ok := ctx.Deadline(); ok {
		ecfg.DialTimeout = time.Until(dl)
	}
	if err := state.CheckTLS(ctx, ecfg.Endpoints, ecfg.TLS); err != nil {
		return nil, fmt.Errorf("etcd.tls.ca_file: %w", err)
	}
	cli, err := clientv3.New(ecfg)
	if errors.Is(rpctypes.Error(err), rpctypes.ErrAuthFailed) {
		return nil, fmt.Errorf("etcd.password_file: etcd refused the password of etcd.username %q (%v)", ecfg.Username, err)
	}
	return cli, err
}

// readOwner reads the ownership lock's waiters (state.Open's mutex): the
// oldest holds the logid, the others stand by.
func readOwner(ctx context.Context, cli *clientv3.Client, cfg *committer.Config, rep *statusReport) error {
	pfx := path.Join(cfg.Etcd.Prefix, cfg.LogID, "owner") + "/"
	resp, err := cli.Get(ctx, pfx, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		return err
	}
	if len(resp.Kvs) == 0 {
		return nil
	}
	procs, err := state.Processes(ctx, cli, cfg.LogID, state.WithPrefix(cfg.Etcd.Prefix))
	if err != nil {
		return err
	}
	proc := func(lease int64) *state.Process {
		if p, ok := procs[clientv3.LeaseID(lease)]; ok {
			return &p
		}
		return nil
	}
	kv := resp.Kvs[0]
	o := &statusOwner{Lease: fmt.Sprintf("%x", kv.Lease), Epoch: kv.CreateRevision, TTLSeconds: -1, Process: proc(kv.Lease)}
	if ttl, err := cli.TimeToLive(ctx, clientv3.LeaseID(kv.Lease)); err == nil {
		o.TTLSeconds = ttl.TTL
	}
	rep.Owner, rep.Standbys = o, len(resp.Kvs)-1
	for _, kv := range resp.Kvs[1:] {
		rep.StandbyProcesses = append(rep.StandbyProcesses, statusStandby{Lease: fmt.Sprintf("%x", kv.Lease), Process: proc(kv.Lease)})
	}
	return nil
}

// describeProcess is a process's line in the text status.
func describeProcess(p *state.Process) string {
	if p == nil {
		return "no process record (a landfall from before they were kept)"
	}
	par := ""
	if p.Parallelism > 1 {
		par = fmt.Sprintf(", parallelism %d", p.Parallelism)
	}
	return fmt.Sprintf("host %s, pid %d, version %s, started %s%s", p.Host, p.PID, p.Version, p.Started.Format(time.RFC3339), par)
}

func fillCheckpoint(rep *statusReport, cp *state.Checkpoint) {
	c := &statusCheckpoint{Seq: cp.Seq, Epoch: cp.Epoch, IdleCheckpoints: cp.IdleCheckpoints,
		PendingFiles: len(cp.Pending), Merges: len(cp.Merges), IndexPending: len(cp.IndexPending), IndexNext: cp.IndexNext}
	if cp.Watermark != 0 {
		t := time.UnixMilli(cp.Watermark).UTC()
		c.Watermark = &t
	}
	if cp.CursorSet {
		t := time.UnixMilli(cp.CommitCursor).UTC()
		c.CommitCursor = &t
	}
	for _, q := range cp.Commits {
		rep.Commits = append(rep.Commits, statusCommit{Partition: q.Partition, Update: q.Update, Queued: time.UnixMilli(q.Queued).UTC(),
			StepsDone: q.Done, Attempts: q.Attempts, Files: q.Files, Rows: q.Rows, Bytes: q.Bytes})
	}
	for dir, p := range cp.Partitions {
		if p.Committed {
			c.Committed++
			continue
		}
		rep.Open = append(rep.Open, statusOpen{Partition: dir, Start: time.UnixMilli(p.Start).UTC(), Files: p.Files, Rows: p.Rows, Bytes: p.Bytes})
	}
	sort.Slice(rep.Open, func(i, j int) bool { return rep.Open[i].Partition < rep.Open[j].Partition })
	rep.Checkpoint = c
}

// statusEnds lists each partition's last stable offset, with run's Kafka
// security settings.
func statusEnds(ctx context.Context, cfg *committer.Config) (map[int32]int64, error) {
	var kc *krb.Client
	if cfg.Kafka.SASL.Mechanism == security.MechGSSAPI {
		var err error
		if kc, err = kerberosLogin(cfg, nil); err != nil {
			return nil, err
		}
		defer kc.Destroy()
	}
	kopts, err := security.Kafka("kafka", cfg.Kafka.TLS, cfg.Kafka.SASL, kc, time.Now(), nil)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Kafka.Brokers...), kgo.ClientID(cfg.Kafka.ClientID)}, kopts...)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	// ListCommittedOffsets asks with read_committed: the end a
	// read_committed consumer (landfall) can reach.
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(ctx, cfg.Kafka.Topic)
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", cfg.Kafka.Topic, err)
	}
	out := map[int32]int64{}
	var errs []error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("partition %d: %w", o.Partition, o.Err))
			return
		}
		out[o.Partition] = o.Offset
	})
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("topic %s: no partitions listed (does it exist?)", cfg.Kafka.Topic))
	}
	return out, errors.Join(errs...)
}

// fillPartitions joins the checkpoint's offsets with Kafka's ends: a
// partition landfall has not consumed yet shows with Next -1, the whole
// partition as lag (from offset 0: what start_offset earliest reads).
func fillPartitions(rep *statusReport, cp *state.Checkpoint, ends map[int32]int64, endsOK bool) {
	parts := map[int32]bool{}
	for p := range ends {
		parts[p] = true
	}
	if cp != nil {
		for p := range cp.Offsets {
			parts[p] = true
		}
	}
	var lag int64
	for p := range parts {
		kp := statusKafkaPart{Partition: p, Next: -1, End: -1, Lag: -1}
		if cp != nil {
			if o, ok := cp.Offsets[p]; ok {
				kp.Next = o
			}
			if ms, ok := cp.MaxEventTime[p]; ok {
				t := time.UnixMilli(ms).UTC()
				kp.MaxEventTime = &t
			}
		}
		if e, ok := ends[p]; ok {
			kp.End = e
			kp.Lag = max(e-max(kp.Next, 0), 0)
			lag += kp.Lag
		}
		rep.Partitions = append(rep.Partitions, kp)
	}
	sort.Slice(rep.Partitions, func(i, j int) bool { return rep.Partitions[i].Partition < rep.Partitions[j].Partition })
	if endsOK {
		rep.Lag = lag
	}
	if rep.Owner != nil && rep.Owner.Process != nil && rep.Owner.Process.Parallelism > 1 {
		for i := range rep.Partitions {
			sh := committer.ShardOf(rep.Partitions[i].Partition, rep.Owner.Process.Parallelism)
			rep.Partitions[i].Shard = &sh
		}
	}
}

func printStatus(w io.Writer, r *statusReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	ts := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Format(time.RFC3339)
	}
	num := func(n int64) string {
		if n < 0 {
			return "?"
		}
		return fmt.Sprint(n)
	}
	fmt.Fprintf(tw, "logid\t%s (topic %s)\n", r.LogID, r.Topic)
	if r.Owner == nil {
		fmt.Fprintf(tw, "owner\tnone: no landfall run holds the logid\n")
	} else {
		fmt.Fprintf(tw, "owner\tlease %s, epoch %d, lease ttl %ss, %d standing by\n", r.Owner.Lease, r.Owner.Epoch, num(r.Owner.TTLSeconds), r.Standbys)
		fmt.Fprintf(tw, "\t%s\n", describeProcess(r.Owner.Process))
		for _, sb := range r.StandbyProcesses {
			fmt.Fprintf(tw, "standby\tlease %s: %s\n", sb.Lease, describeProcess(sb.Process))
		}
	}
	if c := r.Checkpoint; c == nil {
		fmt.Fprintf(tw, "checkpoint\tnone yet\n")
	} else {
		fmt.Fprintf(tw, "checkpoint\tseq %d, written by epoch %d\n", c.Seq, c.Epoch)
		fmt.Fprintf(tw, "watermark\t%s\n", ts(c.Watermark))
		fmt.Fprintf(tw, "commit cursor\t%s (every partition before it is committed)\n", ts(c.CommitCursor))
		fmt.Fprintf(tw, "recovery\t%d pending files, %d merges, %d index entries to publish (next %d)\n", c.PendingFiles, c.Merges, c.IndexPending, c.IndexNext)
		fmt.Fprintf(tw, "retained\t%d committed partitions kept for late data\n", c.Committed)
	}
	fmt.Fprintf(tw, "lag\t%s records\n", num(r.Lag))
	tw.Flush()
	fmt.Fprintf(w, "\nkafka partitions (%d)\n", len(r.Partitions))
	sharded := len(r.Partitions) > 0 && r.Partitions[0].Shard != nil
	if sharded {
		fmt.Fprintf(tw, "  PARTITION\tSHARD\tNEXT\tEND\tLAG\tMAX EVENT TIME\n")
	} else {
		fmt.Fprintf(tw, "  PARTITION\tNEXT\tEND\tLAG\tMAX EVENT TIME\n")
	}
	for _, p := range r.Partitions {
		if sharded {
			fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\t%s\t%s\n", p.Partition, *p.Shard, num(p.Next), num(p.End), num(p.Lag), ts(p.MaxEventTime))
			continue
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", p.Partition, num(p.Next), num(p.End), num(p.Lag), ts(p.MaxEventTime))
	}
	tw.Flush()
	fmt.Fprintf(w, "\ncommit queue (%d)\n", len(r.Commits))
	if len(r.Commits) > 0 {
		fmt.Fprintf(tw, "  PARTITION\tKIND\tQUEUED\tSTEPS DONE\tATTEMPTS\tFILES\tROWS\tBYTES\n")
	}
	for _, c := range r.Commits {
		kind := "first"
		if c.Update {
			kind = "update"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%s\t%d\n", c.Partition, kind, c.Queued.Format(time.RFC3339), c.StepsDone, c.Attempts, c.Files, num(c.Rows), c.Bytes)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nopen partitions (%d)\n", len(r.Open))
	if len(r.Open) > 0 {
		fmt.Fprintf(tw, "  PARTITION\tFILES\tROWS\tBYTES\n")
	}
	for _, o := range r.Open {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\n", o.Partition, o.Files, o.Rows, o.Bytes)
	}
	tw.Flush()
	for _, e := range r.Errors {
		fmt.Fprintf(w, "\nerror: %s\n", e)
	}
}
