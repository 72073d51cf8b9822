package committer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/landfall/landfall/compactor"
	"github.com/landfall/landfall/index"
	"github.com/landfall/landfall/state"
)

// Compaction (compaction.enabled) merges the small files of a partition
// into files of about compaction.target_size once the partition is
// complete and before its commit steps run, so that Hive, Spark and Trino
// see a few large files instead of one per checkpoint. The commit runner
// plans and writes each merge under a hidden name off the consume loop;
// the next checkpoint promises it (state.Merge and an index entry that
// removes the sources and adds the merged file, data change off); only
// then is the merged file published and are the sources retired out of the
// partition, and only after that do the commit steps (metastore, _SUCCESS)
// run. See the compactor package for what each reader sees at each step.

// mergeJob is a merge written and waiting for (or past) its checkpoint.
type mergeJob struct {
	m     state.Merge
	group compactor.Group
	res   compactor.Result
	done  chan struct{}
}

// mergeKey is how a merge waits in an index entry, beside the staging
// names of part files.
func mergeKey(final string) string { return "merge:" + final }

// compact merges the partition of commit c, if it has small files to
// merge, and returns once the merges are published and their sources
// retired (true if there were any), or the commit must go on without them.
// It never fails the commit: a merge that can't be done is logged and
// counted, and the partition commits as it is.
//
// Only a fatal error is returned: a crash failpoint or lost ownership.
func (p *Pipeline) compact(ctx context.Context, c state.Commit) (bool, error) {
	if !p.cfg.Compaction.Enabled || c.Update || c.Recount || strings.HasPrefix(c.Partition, "_") || c.Files < 2 {
		return false, nil
	}
	start := time.Now()
	// Queued is on the pipeline's clock, which tests inject: measure the
	// wait on it, then turn what is left into a real timeout.
	left := p.cfg.Compaction.MaxDelay - p.now().Sub(time.UnixMilli(c.Queued))
	mctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	// The plan reads the index: wait for the entries of every checkpoint
	// up to the one that queued this commit, or the files they list would
	// stay unmerged beside the merged ones.
	err := p.waitIndexedUpTo(mctx, uint64(c.Seq))
	var jobs []*mergeJob
	if err == nil {
		jobs, err = p.writeMerges(mctx, c.Partition)
	}
	if err == nil {
		err = p.waitMerges(mctx, jobs)
	}
	if errors.Is(err, ErrCrash) || errors.Is(err, state.ErrNotOwner) {
		return false, err
	}
	if err != nil {
		// Merges no checkpoint took yet are dropped; one already promised
		// is finished before the commit goes on, or a lister after
		// _SUCCESS could find a merged file beside its sources.
		jobs = p.dropUnpromised(jobs)
		if werr := p.waitMerges(ctx, jobs); werr != nil {
			return false, nil
		}
	}
	switch {
	case err == nil:
		if len(jobs) > 0 {
			p.m.merges.Add(float64(len(jobs)))
			p.m.mergeSeconds.Observe(time.Since(start).Seconds())
			p.log.Info("partition merged", "hive_partition", c.Partition, "merges", len(jobs), "took", time.Since(start))
		}
		return len(jobs) > 0, nil
	case ctx.Err() != nil:
		// Stopping: the commit stays queued; merges already promised are
		// finished by recovery.
	default:
		p.m.mergesSkipped.Inc()
		p.log.Warn("partition commits without merging its small files", "hive_partition", c.Partition, "err", err, "max_delay", p.cfg.Compaction.MaxDelay)
	}
	// Whatever was promised finishes anyway (here or in recovery); what
	// is done is visible, so count it.
	return len(jobs) > 0, nil
}

// writeMerges plans the partition's live files (from the index) and writes
// each group's merged file under its hidden name, handing each to the
// next checkpoint.
func (p *Pipeline) writeMerges(ctx context.Context, partition string) ([]*mergeJob, error) {
	// One tracker for the run (the commit runner is its only user): each
	// plan reads the entries published since the last, not the index.
	if p.live == nil {
		p.live = index.Open(p.fs, p.cfg.LogID).Tracker()
	}
	live, err := p.live.LiveFiles(ctx, partition)
	if err != nil {
		return nil, fmt.Errorf("live files of %s: %w", partition, err)
	}
	return p.writeMergesOf(ctx, partition, live)
}

func (p *Pipeline) writeMergesOf(ctx context.Context, partition string, live []index.File) ([]*mergeJob, error) {
	format := p.cfg.Format.Name
	if format == "text" && p.cfg.Format.Compression == "zstd" {
		format = "text+zstd"
	}
	files := make([]compactor.File, 0, len(live))
	for _, f := range live {
		files = append(files, compactor.File{Name: f.Path, Size: f.Size, Rows: f.Rows, Format: format, Sidecars: f.Sidecars})
	}
	var opts []compactor.Option
	if r := p.cfg.Compaction.MaxBytesPerSecond; r > 0 {
		opts = append(opts, compactor.WithLimiter(compactor.NewLimiter(r)))
	}
	// Up to compaction.concurrency groups are written at once, all under
	// one byte-rate cap; each job goes to the next checkpoint as soon as
	// it is written.
	var (
		mu    sync.Mutex
		jobs  []*mergeJob
		first error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, max(p.cfg.Compaction.Concurrency, 1))
	for _, g := range compactor.Plan(files, p.cfg.Compaction.TargetSize) {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		if err := p.fp(FPMergeWrite); err != nil {
			mu.Lock()
			first = err
			mu.Unlock()
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			j, err := p.writeMerge(ctx, partition, g, opts)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			jobs = append(jobs, j)
		}()
	}
	wg.Wait()
	return jobs, first
}

// writeMerge writes one group's merged file under its hidden name and
// hands it to the next checkpoint.
func (p *Pipeline) writeMerge(ctx context.Context, partition string, g compactor.Group, opts []compactor.Option) (*mergeJob, error) {
	final := compactor.MergedName(g)
	res, err := compactor.Write(ctx, p.fs, g, final, opts...)
	if err != nil {
		return nil, err
	}
	m := state.Merge{Partition: partition, Final: final, Size: res.Size, Rows: res.Rows}
	for _, sc := range res.Sidecars {
		m.Sidecars = append(m.Sidecars, sc.Suffix)
	}
	for _, f := range g.Files {
		m.Sources = append(m.Sources, state.MergeSource{Name: f.Name, Sidecars: f.Sidecars, Size: f.Size})
	}
	j := &mergeJob{m: m, group: g, res: res, done: make(chan struct{})}
	p.mu.Lock()
	p.mergeReady = append(p.mergeReady, j)
	p.mu.Unlock()
	p.m.mergeBytes.Add(float64(res.Size))
	return j, nil
}

// waitIndexedUpTo waits until no index entry of checkpoint seq or older
// is waiting to be published.
func (p *Pipeline) waitIndexedUpTo(ctx context.Context, seq uint64) error {
	for {
		p.mu.Lock()
		waiting := len(p.idxQueue) > 0 && p.idxQueue[0].e.Checkpoint <= seq
		p.mu.Unlock()
		if !waiting {
			return nil
		}
		p.signalIndex()
		select {
		case <-ctx.Done():
			return fmt.Errorf("index entries up to checkpoint %d not published: %w", seq, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// dropUnpromised takes back the jobs still waiting for a checkpoint,
// removes their hidden files, and returns the rest.
func (p *Pipeline) dropUnpromised(jobs []*mergeJob) []*mergeJob {
	p.mu.Lock()
	drop := map[*mergeJob]bool{}
	kept := p.mergeReady[:0]
	for _, j := range p.mergeReady {
		if slices.Contains(jobs, j) {
			drop[j] = true
			continue
		}
		kept = append(kept, j)
	}
	p.mergeReady = kept
	p.mu.Unlock()
	var out []*mergeJob
	for _, j := range jobs {
		if !drop[j] {
			out = append(out, j)
			continue
		}
		if err := compactor.Abort(p.fs, j.m.Final, j.m.Sidecars); err != nil {
			p.log.Warn("removing an abandoned merge failed", "file", j.m.Final, "err", err)
		}
	}
	return out
}

func (p *Pipeline) waitMerges(ctx context.Context, jobs []*mergeJob) error {
	for _, j := range jobs {
		select {
		case <-j.done:
		case <-ctx.Done():
			return fmt.Errorf("merge %s: %w", j.m.Final, ctx.Err())
		}
	}
	return nil
}

// mergeActions are the index actions of a merge: its sources removed and
// the merged file added, data change off, so incremental readers skip
// them.
func (p *Pipeline) mergeActions(j *mergeJob) []index.Action {
	var out []index.Action
	for _, f := range j.group.Files {
		out = append(out, index.Action{Remove: &index.File{Path: f.Name, Partition: j.m.Partition, Size: f.Size, Rows: f.Rows,
			Format: p.cfg.Format.Name, Sidecars: f.Sidecars, Merge: j.m.Final}})
	}
	return append(out, index.Action{Add: &index.File{Path: j.m.Final, Partition: j.m.Partition, Size: j.m.Size, Rows: j.m.Rows,
		Format: p.cfg.Format.Name, Sidecars: j.m.Sidecars, Merge: j.m.Final}})
}

// finishMerge publishes a promised merge and retires its sources; it is
// what recovery replays, each step idempotent and fenced.
func (p *Pipeline) finishMerge(m state.Merge) error {
	sidecars := make([]compactor.Sidecar, len(m.Sidecars))
	for i, s := range m.Sidecars {
		sidecars[i] = compactor.Sidecar{Suffix: s}
	}
	if err := compactor.Publish(p.fs, m.Final, compactor.Result{Size: m.Size, Rows: m.Rows, Sidecars: sidecars}); err != nil {
		return err
	}
	if err := p.fp(FPMergeBeforeRetire); err != nil {
		return err
	}
	g := compactor.Group{}
	for _, s := range m.Sources {
		g.Files = append(g.Files, compactor.File{Name: s.Name, Sidecars: s.Sidecars})
	}
	return compactor.Retire(p.fs, p.cfg.LogID, g)
}

// runMerge finishes a merge after the checkpoint that promises it.
func (p *Pipeline) runMerge(j *mergeJob) {
	if err := p.fp(FPMergeBeforePublish); err != nil {
		p.fail(err)
		return
	}
	if err := p.finishMerge(j.m); err != nil {
		p.fail(fmt.Errorf("finish merge %s: %w", j.m.Final, err))
		return
	}
	p.mu.Lock()
	delete(p.merging, j.m.Final)
	// The checkpoint that drops the merge from the state also takes its
	// file count and size into the partition's totals, so that a later
	// re-commit (late data) describes the merged partition.
	p.merged = append(p.merged, j.m)
	p.indexRenamed(mergeKey(j.m.Final))
	p.mu.Unlock()
	close(j.done)
}

// applyMergedLocked takes the merges finished since the last call into
// the partition totals; called under mu by the consume loop.
func (p *Pipeline) applyMergedLocked() {
	for _, m := range p.merged {
		p.applyMerged(m)
	}
	p.merged = nil
}

// applyMerged corrects a partition's totals for a finished merge: its
// sources replaced by one file.
func (p *Pipeline) applyMerged(m state.Merge) {
	st := p.cp.Partitions[m.Partition]
	if st == nil {
		return
	}
	st.Files -= int64(len(m.Sources)) - 1
	var src int64
	for _, s := range m.Sources {
		if s.Size == 0 {
			return // an older checkpoint: sizes unknown, keep the bytes
		}
		src += s.Size
	}
	st.Bytes += m.Size - src
}

// recoverMerges finishes the merges the durable checkpoint promises.
func (p *Pipeline) recoverMerges() error {
	for _, m := range p.cp.Merges {
		if err := p.finishMerge(m); err != nil {
			return fmt.Errorf("recovery: finish merge %s: %w", m.Final, err)
		}
		p.applyMerged(m)
		if err := p.fp(FPRecoveryMerge); err != nil {
			return err
		}
	}
	p.cp.Merges = nil
	return nil
}

// gcRetired deletes retired files older than index.file_retention, counted
// from when they were written. It lists the retired tree, once in a while
// and only here.
func (p *Pipeline) gcRetired() {
	root := path.Join(".landfall", p.cfg.LogID, "retired")
	horizon := time.Now().Add(-p.cfg.Index.FileRetention)
	var walk func(dir string) error
	walk = func(dir string) error {
		ents, err := p.fs.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, e := range ents {
			name := path.Join(dir, e.Name())
			if e.IsDir() {
				if err := walk(name); err != nil {
					return err
				}
				continue
			}
			if e.ModTime().Before(horizon) {
				if err := p.fs.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
				p.m.retiredDeleted.Inc()
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		p.log.Warn("deleting retired files failed; retrying later", "err", err)
	}
}
