package committer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/compactor"
	"github.com/landfall/landfall/index"
	"github.com/landfall/landfall/state"
)

// CompactResult is what Compact did to one partition.
type CompactResult struct {
	Partition string
	// Live files the index listed before, and after the merges.
	FilesBefore, FilesAfter int
	Merges                  int
	MergedBytes             int64
	// Recommitted: the partition had been committed, so its commit steps
	// ran again as an update, for the metastore's statistics to describe
	// the merged files.
	Recommitted bool
	// Unindexed are data files in the directory that the index doesn't
	// list (written before the table had an index, or by hand): never
	// merged, since no index reader could be told.
	Unindexed []string
}

// ErrCommitQueued: Compact was asked for a partition whose commit is still
// queued; the pipeline merges it itself before that commit.
var ErrCommitQueued = errors.New("committer: the partition's commit is queued")

// Compact merges one partition's small files on demand, for an operator
// tidying a table: landfall runs for the logid with compaction off, or the
// partition was committed before it was turned on. It owns the logid like
// Run (the caller opened the store), recovers, merges the partition's live
// files with the same steps and state transitions as the pipeline's own
// merges (written hidden, promised by a checkpoint with one index entry of
// data change off, published, sources retired), and, if the partition was
// committed, runs its commit steps again as an update so that the
// metastore's numFiles and totalSize describe the merged files. It
// consumes nothing.
//
// Unlike the pipeline's merge before a commit, a committed partition is
// visible to Hive and to directory listers while it is merged: between
// publishing a merged file and retiring its sources (two renames per
// source) they can see both. Compact keeps that window to those renames;
// run it on partitions no job is reading at that moment.
func (p *Pipeline) Compact(ctx context.Context, partition string) (CompactResult, error) {
	res := CompactResult{Partition: partition}
	if _, ok := p.pattern.Time(partition); !ok {
		return res, fmt.Errorf("partition %q is not one of partition.pattern %q (e.g. %s)", partition, p.cfg.Partition.Pattern, p.pattern.Path(time.Now()))
	}
	if err := p.load(ctx); err != nil {
		return res, err
	}
	// A first commit still queued is the pipeline's to merge before; a
	// queued re-commit (late data) is run here, after the merge.
	var updates []*queued
	for _, q := range p.queue {
		if q.c.Partition != partition {
			continue
		}
		if !q.c.Update {
			return res, fmt.Errorf("%w: %s (commit %s): `landfall run` merges it before that commit (with compaction.enabled) or commits it as it is", ErrCommitQueued, partition, q.c.Key)
		}
		updates = append(updates, q)
	}
	live, err := index.Open(p.fs, p.cfg.LogID).LiveFiles(ctx, partition)
	if err != nil {
		return res, fmt.Errorf("live files of %s: %w", partition, err)
	}
	res.FilesBefore, res.FilesAfter = len(live), len(live)
	if res.Unindexed, err = p.unindexed(partition, live); err != nil {
		return res, err
	}
	jobs, err := p.writeMergesOf(ctx, partition, live)
	p.mergeReady = nil // taken here, not by a checkpoint
	if err != nil {
		for _, j := range jobs {
			_ = compactor.Abort(p.fs, j.m.Final, j.m.Sidecars)
		}
		return res, err
	}
	if len(jobs) == 0 {
		return res, nil
	}

	// Promise the merges: one index entry and the state, as a checkpoint.
	seq := p.cp.Seq + 1
	n := max(p.cp.IndexNext, 1)
	e := &index.Entry{N: n, LogID: p.cfg.LogID, Checkpoint: seq, CommitTime: time.Now()}
	var merges []state.Merge
	for _, j := range jobs {
		e.Actions = append(e.Actions, p.mergeActions(j)...)
		merges = append(merges, j.m)
	}
	if err := p.idx.WriteInflight(e); err != nil {
		for _, j := range jobs {
			_ = compactor.Abort(p.fs, j.m.Final, j.m.Sidecars)
		}
		return res, err
	}
	promised := p.stateCopy(seq)
	promised.IndexPending = []state.IndexEntry{{N: n, Checkpoint: seq, Epoch: p.epoch}}
	promised.IndexNext = n + 1
	promised.Merges = merges
	if err := p.store.Save(ctx, promised); err != nil {
		// Maybe durable: the next start's recovery finishes it then, or
		// removes the hidden files and the inflight entry.
		return res, fmt.Errorf("checkpoint %d: %w", seq, err)
	}
	p.cp.Seq, p.cp.IndexNext = seq, n+1
	for _, j := range jobs {
		if err := p.fp(FPMergeBeforePublish); err != nil {
			return res, err
		}
		if err := p.finishMerge(j.m); err != nil {
			return res, fmt.Errorf("finish merge %s: %w", j.m.Final, err)
		}
		p.applyMerged(j.m)
		res.Merges++
		res.MergedBytes += j.m.Size
		res.FilesAfter -= len(j.m.Sources) - 1
		p.m.merges.Inc()
		p.m.mergeBytes.Add(float64(j.m.Size))
	}
	if err := p.idx.Publish(n); err != nil {
		return res, fmt.Errorf("publish index entry %d: %w", n, err)
	}

	// Re-commit the partition, so the metastore sees the merge: the
	// re-commits already queued, or a new one.
	if len(updates) == 0 && p.committed(partition) {
		seq2 := seq + 1
		c := state.Commit{
			Partition: partition, Key: p.cfg.LogID + "/" + partition + "/" + strconv.FormatUint(seq2, 10), Seq: int(seq2),
			Update: true, Rows: -1, Recount: true, Watermark: p.cp.Watermark, Queued: p.now().UnixMilli(),
		}
		if st := p.cp.Partitions[partition]; st != nil {
			c.Rows, c.Recount = st.Rows, false
			st.Commits++
		}
		q := &queued{c: c}
		p.queue = append(p.queue, q)
		updates = append(updates, q)
	}
	for _, q := range updates {
		files, bytes, err := p.recount(partition)
		if err != nil {
			return res, err
		}
		q.c.Files, q.c.Bytes, q.c.Merged = files, bytes, true
	}
	next := seq + 1
	if err := p.store.Save(ctx, p.stateCopy(next)); err != nil {
		return res, fmt.Errorf("checkpoint %d: %w", next, err)
	}
	p.cp.Seq = next
	if len(updates) == 0 {
		return res, nil
	}
	for _, q := range updates {
		if err := p.runSteps(ctx, q); err != nil {
			return res, fmt.Errorf("re-commit %s (it stays queued for the next `landfall run`): %w", partition, err)
		}
	}
	res.Recommitted = true
	next++
	if err := p.store.Save(ctx, p.stateCopy(next)); err != nil {
		return res, fmt.Errorf("checkpoint %d (the re-commit is done; the next run repeats its steps, which are idempotent): %w", next, err)
	}
	p.cp.Seq = next
	return res, nil
}

// stateCopy is the loaded state at seq with the commit queue as it is:
// what Compact saves, with nothing pending.
func (p *Pipeline) stateCopy(seq uint64) *state.Checkpoint {
	cp := *p.cp
	cp.Seq = seq
	cp.Pending, cp.IndexPending, cp.Merges = nil, nil, nil
	cp.Commits = make([]state.Commit, 0, len(p.queue))
	for _, q := range p.queue {
		cp.Commits = append(cp.Commits, q.c)
	}
	return &cp
}

// committed reports whether the partition's first commit is behind the
// commit cursor: tracked as committed, or older than what is tracked.
func (p *Pipeline) committed(partition string) bool {
	if st := p.cp.Partitions[partition]; st != nil {
		return st.Committed
	}
	t, ok := p.pattern.Time(partition)
	if !ok || !p.cp.CursorSet {
		return false
	}
	b := p.boundOf(t.UnixMilli())
	return b.end <= p.cp.CommitCursor
}

// unindexed lists the partition's data files that the index doesn't name.
func (p *Pipeline) unindexed(partition string, live []index.File) ([]string, error) {
	ents, err := p.fs.ReadDir(partition)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list %s: %w", partition, err)
	}
	known := map[string]bool{}
	for _, f := range live {
		known[f.Path] = true
		for _, sc := range f.Sidecars {
			known[f.Path+sc] = true
		}
	}
	var out []string
	for _, e := range ents {
		name := partition + "/" + e.Name()
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") || known[name] {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out, nil
}
