package committer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer/fsys"
)

// commitRunner works through the commit queue off the consume loop, so a
// down metastore or webhook delays signals but never data. A commit runs once
// its partition has no file waiting for its rename, and after any earlier
// commit of the same partition.
func (p *Pipeline) commitRunner(ctx context.Context) {
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	for {
		wait := p.runCommits(ctx)
		if wait <= 0 || wait > time.Second {
			wait = time.Second
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-timer.C:
		}
	}
}

// runCommits runs every commit that is ready and returns how long until the
// next backoff expires.
func (p *Pipeline) runCommits(ctx context.Context) time.Duration {
	next := time.Duration(0)
	for ctx.Err() == nil {
		q := p.nextReady()
		if q == nil {
			break
		}
		err := p.runSteps(ctx, q)
		if err == nil {
			p.targetsBack()
			continue
		}
		if errors.Is(err, ErrCrash) || errors.Is(err, state.ErrNotOwner) {
			p.fail(err)
			return 0
		}
		if ctx.Err() != nil {
			return 0
		}
		permanent := hive.IsPermanent(err)
		p.mu.Lock()
		q.c.Attempts++
		backoff := min(time.Duration(1<<min(q.c.Attempts, 20))*100*time.Millisecond, p.cfg.Commit.RetryMax)
		if permanent {
			// Only an operator can fix it (a missing table, a rejected
			// webhook); retry rarely so the fix is picked up, and say so
			// loudly. Data keeps landing meanwhile.
			backoff = p.cfg.Commit.RetryMax
		}
		q.next = time.Now().Add(backoff)
		q.permanent = permanent
		p.mu.Unlock()
		p.m.commitFailures.Inc()
		if permanent {
			p.log.Error("partition commit needs an operator; retrying", "hive_partition", q.c.Partition, "attempt", q.c.Attempts, "backoff", backoff, "err", err)
		} else {
			p.log.Warn("partition commit failed, will retry", "hive_partition", q.c.Partition, "attempt", q.c.Attempts, "backoff", backoff, "err", err)
		}
		if next == 0 || backoff < next {
			next = backoff
		}
	}
	return next
}

// targetsBack follows a successful commit: whatever failed the others
// transiently (a metastore or webhook outage) is over, so they retry now
// instead of at the end of a backoff that grew while it lasted.
func (p *Pipeline) targetsBack() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, q := range p.queue {
		if !q.permanent {
			q.next = time.Time{}
		}
	}
}

func (p *Pipeline) nextReady() *queued {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	blocked := map[string]bool{}
	for _, q := range p.queue {
		if blocked[q.c.Partition] {
			continue
		}
		blocked[q.c.Partition] = true
		if p.perPart[q.c.Partition] > 0 || now.Before(q.next) {
			continue
		}
		return q
	}
	return nil
}

// waitDurable waits until a checkpoint that copied the commit queue after
// copy number gen is durable.
func (p *Pipeline) waitDurable(ctx context.Context, gen uint64) error {
	for p.durableCopies.Load() <= gen {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// runSteps runs the steps of one commit from the first unfinished one.
func (p *Pipeline) runSteps(ctx context.Context, q *queued) error {
	p.mu.Lock()
	c := q.c
	p.mu.Unlock()
	if p.cfg.Compaction.Enabled && c.Done == 0 && !c.Merged {
		// Before the first step, so that the metastore and _SUCCESS see
		// the merged partition; and never after one, so the mark that the
		// merge is over is durable before any step runs (a step repeated
		// after a crash must not find a merge in progress).
		if _, err := p.compact(ctx, c); err != nil {
			return err
		}
		if err := p.fp(FPMergeDone); err != nil {
			return err
		}
		// Whether this attempt merged or an earlier one did before a crash
		// (then there is nothing left to merge), the commit's totals are
		// those of the files now in the partition.
		files, bytes, err := p.recount(c.Partition)
		if err != nil {
			return err
		}
		c.Files, c.Bytes = files, bytes
		p.mu.Lock()
		q.c.Merged = true
		q.c.Files, q.c.Bytes = c.Files, c.Bytes
		gen := p.queueCopies
		p.mu.Unlock()
		if err := p.waitDurable(ctx, gen); err != nil {
			return err
		}
		c.Merged = true
	}
	switch {
	case c.Recount:
		var err error
		if c.Files, c.Bytes, err = p.recount(c.Partition); err != nil {
			return err
		}
		c.Rows = -1 // unknown: counting them means reading every file
	case c.Update && p.cfg.Compaction.Enabled:
		// A re-commit queued while the partition's merge ran counted the
		// files the merge replaced: the directory says what is there.
		var err error
		if c.Files, c.Bytes, err = p.recount(c.Partition); err != nil {
			return err
		}
	}
	hp := p.hivePartition(c)
	for i := c.Done; i < len(p.steps); i++ {
		if err := p.fp(FPBeforeCommitStep); err != nil {
			return err
		}
		// A commit step changes the warehouse's public face (the
		// metastore, _SUCCESS, a notification): only the owner may.
		if err := p.store.Fence(ctx); err != nil {
			return fmt.Errorf("commit %s: %w", c.Partition, err)
		}
		s := p.steps[i]
		if err := s.Commit(ctx, hp); err != nil {
			return fmt.Errorf("commit step %s for %s: %w", s.Name(), c.Partition, err)
		}
		p.mu.Lock()
		q.c.Done = i + 1
		p.mu.Unlock()
	}
	p.mu.Lock()
	for i, x := range p.queue {
		if x == q {
			p.queue = append(p.queue[:i], p.queue[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	p.m.partitionsCommitted.Inc()
	if !c.Update && !c.Recount && !strings.HasPrefix(c.Partition, "_") {
		p.m.partitionFiles.Observe(float64(c.Files))
	}
	p.progress.committed.Add(1)
	if c.Update {
		p.updates.Add(1)
	} else {
		p.commits.Add(1)
	}
	p.log.Info("partition committed", "hive_partition", c.Partition, "files", c.Files, "rows", c.Rows, "update", c.Update)
	return nil
}

// recount totals the visible data files of a partition whose totals
// landfall no longer keeps. It runs when no file of the partition awaits
// its rename, so the listing is the partition.
func (p *Pipeline) recount(dir string) (files, bytes int64, err error) {
	ents, err := p.fs.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil // an empty hour: the success-file step makes its directory
	}
	if err != nil {
		return 0, 0, fmt.Errorf("recount %s: %w", dir, err)
	}
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		files++
		bytes += e.Size()
	}
	return files, bytes, nil
}

func (p *Pipeline) hivePartition(c state.Commit) hive.Partition {
	vals := make([]string, 0, len(p.pattern.Keys()))
	for _, el := range strings.Split(c.Partition, "/") {
		_, v, _ := strings.Cut(el, "=")
		vals = append(vals, v)
	}
	return hive.Partition{
		Database: p.cfg.Hive.Database, Table: p.cfg.Hive.Table,
		Keys: p.pattern.Keys(), Values: vals,
		Path: c.Partition, Location: strings.TrimSuffix(p.cfg.Warehouse.URI, "/") + "/" + c.Partition,
		NumFiles: c.Files, NumRows: c.Rows, TotalSize: c.Bytes,
		// The commit time is fixed when the commit is queued, so that every
		// retry announces the same commit.
		Watermark: time.UnixMilli(c.Watermark).UTC(), CommitTime: time.UnixMilli(c.Queued).UTC(),
		Offsets: c.Offsets, Update: c.Update, Key: c.Key, Seq: int64(c.Seq),
	}
}

// waitCommits gives ready commits up to d to finish at a graceful stop;
// whatever is left stays queued in etcd for the next run.
func (p *Pipeline) waitCommits(ctx context.Context, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if p.nextReady() == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SuccessFile is the commit step that writes the partition's _SUCCESS
// marker, creating the directory of an empty partition.
//
// The marker is written anew by every commit of the partition, the
// re-commits of late data under late.policy: append included: its body is
// the commit (SuccessMarker, one JSON object), so both its content and its
// modification time change, and a scheduler that triggers on either sees
// every re-commit. It is replaced by writing a hidden file, removing the
// old marker and renaming the new one into place (the warehouse never
// renames over a file): a lister can find no marker for that moment, never
// a partial one, and a crash in between leaves the step undone, so the
// commit queue runs it again. Running it again for the commit the marker
// already holds, or an older one, changes nothing.
type SuccessFile struct{ FS fsys.FS }

// SuccessMarker is the body of _SUCCESS: which commit of the partition it
// marks. Markers written before it existed, and by Hadoop jobs, are empty.
type SuccessMarker struct {
	Partition   string    `json:"partition"`
	CommitKey   string    `json:"commit_key"`
	CommitSeq   int64     `json:"commit_seq"`
	Update      bool      `json:"update"`
	NumFiles    int64     `json:"num_files"`
	NumRows     int64     `json:"num_rows"` // -1: unknown
	TotalSize   int64     `json:"total_size"`
	Watermark   time.Time `json:"watermark"`
	CommittedAt time.Time `json:"committed_at"`
}

func (s SuccessFile) Name() string { return "success-file" }

func (s SuccessFile) Commit(_ context.Context, p hive.Partition) error {
	name := path.Join(p.Path, "_SUCCESS")
	old, exists, err := s.read(name)
	if err != nil {
		return err
	}
	if exists && old.CommitKey != "" && (old.CommitKey == p.Key || (p.Seq > 0 && old.CommitSeq > p.Seq)) {
		return nil // this commit's marker, or a newer commit's
	}
	body, err := json.Marshal(SuccessMarker{Partition: p.Path, CommitKey: p.Key, CommitSeq: p.Seq, Update: p.Update,
		NumFiles: p.NumFiles, NumRows: p.NumRows, TotalSize: p.TotalSize, Watermark: p.Watermark.UTC(), CommittedAt: p.CommitTime.UTC()})
	if err != nil {
		return fmt.Errorf("write _SUCCESS: %w", err)
	}
	body = append(body, '\n')
	// Hidden from Hive and listers ("."), and one per commit so that a
	// retry after a crash finds only its own leftover.
	tmp := path.Join(p.Path, fmt.Sprintf(".landfall-success-%d.tmp", p.Seq))
	if err := s.FS.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write _SUCCESS: remove leftover %s: %w", tmp, err)
	}
	f, err := s.FS.Create(tmp)
	if err != nil {
		return fmt.Errorf("write _SUCCESS: %w", err)
	}
	if _, err := f.Write(body); err != nil {
		f.Close()
		return fmt.Errorf("write _SUCCESS: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync _SUCCESS: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close _SUCCESS: %w", err)
	}
	if exists {
		if err := s.FS.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("replace _SUCCESS: %w", err)
		}
	}
	if err := s.FS.Rename(tmp, name); err != nil {
		return fmt.Errorf("replace _SUCCESS: %w", err)
	}
	return nil
}

// read returns the marker at name, whether there is one, and a zero marker
// for an empty or foreign one.
func (s SuccessFile) read(name string) (SuccessMarker, bool, error) {
	var m SuccessMarker
	r, err := s.FS.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("read _SUCCESS: %w", err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return m, true, fmt.Errorf("read _SUCCESS: %w", err)
	}
	if json.Unmarshal(b, &m) != nil {
		m = SuccessMarker{}
	}
	return m, true, nil
}

type invalidRecord struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Reason    string `json:"reason"`
	Time      string `json:"landed_at"`
	Record    string `json:"record_b64"`
}

func invalidLine(r *kgo.Record, reason string, now time.Time) []byte {
	b, _ := json.Marshal(invalidRecord{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Reason: reason,
		Time: now.UTC().Format(time.RFC3339), Record: base64.StdEncoding.EncodeToString(r.Value),
	})
	return b
}

// reasonLabel keeps the metric's label set small: the first words of the
// reason, never the parser's detail.
func reasonLabel(reason string) string {
	switch {
	case strings.HasPrefix(reason, "not JSON"):
		return "not_json"
	case strings.HasPrefix(reason, "no event time"):
		return "no_event_time"
	case strings.HasPrefix(reason, "event time"):
		return "bad_event_time"
	case strings.HasPrefix(reason, "column"):
		return "schema_mismatch"
	}
	return "other"
}

// Commits returns how many partition commits this pipeline ran: first
// commits of a partition, and updates (re-commits after late data), apart.
// Safe to call from any goroutine.
func (p *Pipeline) Commits() (partitions, updates int64) {
	return p.commits.Load(), p.updates.Load()
}
