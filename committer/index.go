package committer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/landfall/landfall/index"
	"github.com/landfall/landfall/state"
)

// The file index (index/) lists every file the pipeline commits, one entry
// per checkpoint that rolled files or queued partition commits, so that
// downstream jobs read new files without listing the warehouse. An entry
// follows the part files' discipline: written inflight before the
// checkpoint that promises it, published after that checkpoint is durable
// and every file it lists has its committed name, in order of entry
// number. Recovery publishes what the durable checkpoint promises; the
// fenced filesystem keeps a zombie from publishing.

// snapshotEvery is how many entries apart index snapshots are: a reader
// starting at earliest reads one snapshot and at most this many entries
// (at 10 s checkpoints, a snapshot every 2.8 hours).
const snapshotEvery = 1000

// gcEvery is how often files retired by merges are looked at for deletion.
const gcEvery = 10 * time.Minute

// indexItem is an entry waiting for its publish.
type indexItem struct {
	e       state.IndexEntry
	waiting map[string]bool // staging names of its files not yet renamed
}

// indexEntry builds entry n for checkpoint seq from the files it rolled
// and the commits it queued.
func (p *Pipeline) indexEntry(n, seq uint64, rolled []finalizeJob, commits []state.Commit) *index.Entry {
	e := &index.Entry{N: n, LogID: p.cfg.LogID, Checkpoint: seq, CommitTime: time.Now()}
	for _, j := range rolled {
		f := &index.File{
			Path: j.pf.Final, Partition: j.pf.Partition, Size: j.pf.Size, Rows: j.pf.Rows,
			Offsets: j.offsets, EventMin: j.evMin, EventMax: j.evMax, Format: p.cfg.Format.Name,
			Sidecars: j.pf.Sidecars, DataChange: true,
		}
		if j.pf.Partition == invalidDir {
			f.Format = "text"
		}
		e.Actions = append(e.Actions, index.Action{Add: f})
	}
	for _, c := range commits {
		rows := c.Rows
		if c.Recount {
			rows = -1
		}
		e.Actions = append(e.Actions, index.Action{PartitionComplete: &index.PartitionComplete{
			Partition: c.Partition, Files: c.Files, Rows: rows, Bytes: c.Bytes,
			Watermark: c.Watermark, CommitKey: c.Key, Update: c.Update,
		}})
	}
	return e
}

// indexPublisher publishes entries in order as their files get their
// committed names, off the consume loop, and takes snapshots every
// snapshotEvery entries. A publish that fails stops the pipeline, like a
// failed rename: recovery publishes the entry again.
func (p *Pipeline) indexPublisher(ctx context.Context) {
	gc := time.NewTicker(gcEvery)
	defer gc.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-gc.C:
			if p.cfg.Compaction.Enabled {
				p.gcRetired()
			}
			continue
		case <-p.idxWake:
		}
		for ctx.Err() == nil {
			p.mu.Lock()
			var it *indexItem
			if len(p.idxQueue) > 0 && len(p.idxQueue[0].waiting) == 0 {
				it = p.idxQueue[0]
			}
			p.mu.Unlock()
			if it == nil {
				break
			}
			if err := p.fp(FPIndexBeforePublish); err != nil {
				p.fail(err)
				return
			}
			if err := p.idx.Publish(it.e.N); err != nil {
				p.fail(fmt.Errorf("publish index entry %d of checkpoint %d: %w", it.e.N, it.e.Checkpoint, err))
				return
			}
			p.mu.Lock()
			p.idxQueue = p.idxQueue[1:]
			p.mu.Unlock()
			p.m.indexPublished.Inc()
			if it.e.N%snapshotEvery == 0 {
				p.indexMaintain(it.e.N)
			}
		}
	}
}

// indexMaintain snapshots the index at entry n and expires what the
// retention lets go. Neither is needed for correctness (readers replay
// entries without them), so a failure is logged and retried at the next
// snapshot.
func (p *Pipeline) indexMaintain(n uint64) {
	if err := p.idx.Snapshot(n); err != nil {
		p.log.Warn("index snapshot failed; readers replay more entries until the next one", "entry", n, "err", err)
		return
	}
	if _, err := p.idx.Expire(n + 1); err != nil {
		p.log.Warn("index expiry failed", "entry", n, "err", err)
	}
}

// indexRenamed notes that a file has its committed name; called under mu.
func (p *Pipeline) indexRenamed(staging string) {
	for _, it := range p.idxQueue {
		if it.waiting[staging] {
			delete(it.waiting, staging)
			if len(it.waiting) == 0 {
				p.signalIndex()
			}
			return
		}
	}
}

func (p *Pipeline) signalIndex() {
	select {
	case p.idxWake <- struct{}{}:
	default:
	}
}

// recoverIndex publishes the entries the durable checkpoint promises
// (their files are renamed by now), in order, each under the epoch of the
// owner that wrote it, then removes inflight entries nobody promised.
func (p *Pipeline) recoverIndex() error {
	for i, e := range p.cp.IndexPending {
		if err := index.NewLog(p.fs, p.cfg.LogID, index.WithEpoch(e.Epoch)).Publish(e.N); err != nil {
			if errors.Is(err, index.ErrNotWritten) {
				return fmt.Errorf("recovery: index entry %d of checkpoint %d is gone (%w): the index has a gap readers would wait on forever", e.N, e.Checkpoint, err)
			}
			return fmt.Errorf("recovery: %w", err)
		}
		if i == 0 {
			if err := p.fp(FPRecoveryIndex); err != nil {
				return err
			}
		}
	}
	p.cp.IndexPending = nil
	if n, err := p.idx.Clean(); err != nil {
		return fmt.Errorf("recovery: %w", err)
	} else if n > 0 {
		p.log.Info("removed inflight index entries no checkpoint promised", "count", n)
	}
	return nil
}

// waitIndexed waits until every promised index entry is published.
func (p *Pipeline) waitIndexed(ctx context.Context) {
	for {
		p.mu.Lock()
		n := len(p.idxQueue)
		p.mu.Unlock()
		if n == 0 || ctx.Err() != nil {
			return
		}
		p.signalIndex()
		select {
		case err := <-p.fatal:
			p.fail(err)
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}
