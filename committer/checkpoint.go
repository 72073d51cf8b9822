package committer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer"
)

// Version is recorded in every file's metadata.
var Version = "dev"

type finalizeJob struct {
	pf   state.PendingFile
	part *writer.Part
	// For the file index: the file's Kafka offset ranges and event-time
	// bounds.
	offsets      map[int32][2]int64
	evMin, evMax int64
}

// checkpoint rolls every open file, makes the new state durable under the
// fencing lease, and hands the rolled files to the finalizer, all before it
// returns: the graceful stop's last checkpoint and on-demand compaction. The
// consume loop runs the same two halves apart (see cut). Any error is fatal:
// the caller stops and the next Run recovers from the last durable
// checkpoint, so nothing half-done here is ever trusted.
func (p *Pipeline) checkpoint(ctx context.Context, fin chan<- finalizeJob) error {
	c, err := p.cut(ctx)
	if err != nil {
		return err
	}
	return p.finish(ctx, fin, c)
}

// A cut is a checkpoint begun. Its cut runs in the consume loop and is
// quick: the open files are detached and their totals added to their
// partitions, the offsets and event times they cover are noted, and the
// watermark and the commits due are decided from them. The files are then
// rolled (encoded to the end and synced, the slow part on HDFS) and the
// index entry listing them written inflight, beside the consume loop,
// which writes the records that follow into new files. Then the consume
// loop finishes the checkpoint: it writes the state for the cut, so a
// checkpoint covers exactly the records of the files it rolled, and
// records consumed since are in no checkpoint yet. A record routed after the cut sees the cut's commit
// cursor, so a partition the cut commits takes later records as late data,
// as it would have after a checkpoint that stopped consuming.
type cut struct {
	seq        uint64
	start      time.Time
	ops        []*openPart
	offsets    map[int32]int64 // the next offset to consume at the cut
	maxEvent   map[int32]int64
	newCommits []state.Commit
	ready      []*mergeJob // merges written since the last checkpoint
	indexN     uint64      // the number of its index entry, if it has one
	// rolled is cancelled when the roll and the index entry are written;
	// jobs, entry and err are their outcome, for the consume loop to read
	// after that.
	rolled context.Context
	jobs   []finalizeJob
	entry  *indexItem
	err    error
	// stall is the time the consume loop spent on this checkpoint.
	stall time.Duration
}

// rollDone says whether the cut's files are rolled (or failed to).
func (c *cut) rollDone() bool { return c.rolled.Err() != nil }

// wait waits for the roll; it never gives up, as the file system's own
// deadlines bound each roll.
func (c *cut) wait() { <-c.rolled.Done() }

// cut begins a checkpoint and starts rolling its files.
func (p *Pipeline) cut(ctx context.Context) (*cut, error) {
	t0 := time.Now()
	if err := p.fp(FPCheckpointStart); err != nil {
		return nil, err
	}
	c := &cut{seq: p.cp.Seq + 1, start: t0}
	// Before advance, so that a re-commit queued now counts finished merges.
	p.mu.Lock()
	p.applyMergedLocked()
	p.mu.Unlock()
	c.ops = p.detach()
	c.offsets = maps.Clone(p.cp.Offsets)
	c.maxEvent = maps.Clone(p.cp.MaxEventTime)
	c.newCommits = p.advance(ctx)
	p.mu.Lock()
	c.ready = p.mergeReady
	p.mergeReady = nil
	p.mu.Unlock()
	c.indexN = max(p.cp.IndexNext, 1)
	rolled, done := context.WithCancel(context.Background())
	c.rolled = rolled
	go func() {
		defer done()
		if c.jobs, c.err = p.roll(c.seq, c.ops); c.err == nil {
			c.entry, c.err = p.writeEntry(c)
		}
	}()
	c.stall = time.Since(t0)
	return c, nil
}

// finish completes the checkpoint c once its files are rolled and its index
// entry written: the state for the cut under the fencing lease, then the
// renames and commits it promises.
func (p *Pipeline) finish(ctx context.Context, fin chan<- finalizeJob, c *cut) error {
	select {
	case <-c.rolled.Done():
	case <-ctx.Done():
		return fmt.Errorf("checkpoint %d: roll part files: %w", c.seq, ctx.Err())
	}
	t0 := time.Now()
	defer func() { c.stall += time.Since(t0) }()
	if c.err != nil {
		return c.err
	}
	seq, rolled, newCommits, ready, entry := c.seq, c.jobs, c.newCommits, c.ready, c.entry
	for i, op := range c.ops {
		if st := p.cp.Partitions[op.dir]; st != nil && !op.sink {
			st.Bytes += rolled[i].pf.Size
		}
	}

	p.mu.Lock()
	// The consume loop has moved on since the cut: the state covers the
	// records of the rolled files, the rest are consumed again after a
	// crash.
	cp := p.stateLocked(seq, c.offsets, c.maxEvent, rolled, ready, entry)
	cp.Commits = append(cp.Commits, newCommits...)
	p.queueCopies++
	copies := p.queueCopies
	p.mu.Unlock()

	if err := p.fp(FPBeforeSave); err != nil {
		return err
	}
	if err := p.store.Save(ctx, &cp); err != nil {
		// The write may or may not have applied; either way recovery
		// decides from what etcd holds, and the rolled files stay for it.
		return fmt.Errorf("checkpoint %d: %w", seq, err)
	}
	p.cp.Seq = seq
	p.cp.IndexNext = cp.IndexNext
	p.lastListed = len(cp.Commits) + len(cp.IndexPending) + len(cp.Pending) + len(cp.Merges)
	p.durableCopies.Store(copies)
	if err := p.fp(FPAfterSave); err != nil {
		return err
	}

	// Only now may the files be renamed and the commits run: both are
	// promised by a durable checkpoint.
	p.mu.Lock()
	for _, j := range rolled {
		p.pending[j.pf.Staging] = j.pf
		p.perPart[j.pf.Partition]++
	}
	for _, c := range newCommits {
		p.queue = append(p.queue, &queued{c: c})
	}
	if entry != nil {
		p.idxQueue = append(p.idxQueue, entry)
	}
	for _, j := range ready {
		p.merging[j.m.Final] = j
	}
	p.mu.Unlock()
	for _, j := range ready {
		p.mergeWG.Add(1)
		go func() { defer p.mergeWG.Done(); p.runMerge(j) }()
	}
	if entry != nil && len(entry.waiting) == 0 {
		p.signalIndex()
	}
	for _, j := range rolled {
		select {
		case fin <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.signal()
	p.prune()

	d := time.Since(c.start)
	p.m.checkpoints.Inc()
	p.m.checkpointSeconds.Observe(d.Seconds())
	p.m.files.Add(float64(len(rolled)))
	p.m.watermark.Set(float64(p.cp.Watermark) / 1000)
	p.progress.setCheckpoint(seq, time.Now(), p.cp, len(rolled))
	p.log.Debug("checkpoint", "seq", seq, "files", len(rolled), "commits", len(newCommits), "watermark", time.UnixMilli(p.cp.Watermark).UTC(), "took", d)
	return nil
}

// stateLocked is the state at seq: the pipeline's as it stands (its
// partitions, the files waiting for their rename, the unfinished merges,
// the unpublished index entries, the commit queue) with the offsets and
// event times it covers, plus what a checkpoint adds: its rolled files,
// the merges it promises and its index entry. Called under p.mu, which
// also lists the unfinished merges: a merge is in the state's Merges or in
// its partition totals, never neither.
func (p *Pipeline) stateLocked(seq uint64, offsets, maxEvent map[int32]int64, rolled []finalizeJob, ready []*mergeJob, entry *indexItem) state.Checkpoint {
	p.applyMergedLocked()
	cp := *p.cp
	cp.Seq = seq
	cp.Offsets, cp.MaxEventTime = offsets, maxEvent
	cp.IndexPending = make([]state.IndexEntry, 0, len(p.idxQueue)+1)
	for _, it := range p.idxQueue {
		cp.IndexPending = append(cp.IndexPending, it.e)
	}
	if entry != nil {
		cp.IndexPending = append(cp.IndexPending, entry.e)
		cp.IndexNext = entry.e.N + 1
	}
	cp.Merges = make([]state.Merge, 0, len(p.merging)+len(ready))
	for _, j := range p.merging {
		cp.Merges = append(cp.Merges, j.m)
	}
	for _, j := range ready {
		cp.Merges = append(cp.Merges, j.m)
	}
	sort.Slice(cp.Merges, func(i, j int) bool { return cp.Merges[i].Final < cp.Merges[j].Final })
	cp.Pending = make([]state.PendingFile, 0, len(p.pending)+len(rolled))
	for _, pf := range p.pending {
		cp.Pending = append(cp.Pending, pf)
	}
	for _, j := range rolled {
		cp.Pending = append(cp.Pending, j.pf)
	}
	sort.Slice(cp.Pending, func(i, j int) bool { return cp.Pending[i].Staging < cp.Pending[j].Staging })
	cp.Commits = make([]state.Commit, 0, len(p.queue))
	for _, q := range p.queue {
		cp.Commits = append(cp.Commits, q.c)
	}
	return cp
}

// settle writes, at the end of a graceful stop, once the finalizers, the
// merges, the index publisher and the commit runner have stopped, the
// state as they left it. The last checkpoint was written before they
// drained, so it still lists the renames, index entries and commits done
// since: the next start would run those commits again (their steps are
// idempotent, but each notification would be sent again) and `landfall
// status` would show a stopped logid's done commits as queued. Nothing is
// consumed after the last checkpoint, so its offsets stand. If the write
// fails, the last checkpoint stands, which recovery completes as after any
// crash.
func (p *Pipeline) settle(ctx context.Context) {
	if p.lastListed == 0 {
		return // the last checkpoint left nothing to drain
	}
	p.mu.Lock()
	cp := p.stateLocked(p.cp.Seq+1, p.cp.Offsets, p.cp.MaxEventTime, nil, nil, nil)
	p.mu.Unlock()
	if err := p.store.Save(ctx, &cp); err != nil {
		p.log.Warn("stopped without writing the drained state; the next start repeats what the last checkpoint listed (idempotent)", "checkpoint", p.cp.Seq, "err", err)
		return
	}
	p.cp.Seq = cp.Seq
}

// writeEntry writes, inflight, the index entry of c's rolled files, its
// commits and its merges, beside the consume loop: it is made durable
// before the checkpoint that promises it. It completes the commits' sizes
// first, known only once the files are rolled.
func (p *Pipeline) writeEntry(c *cut) (*indexItem, error) {
	byPart := map[string][]int{}
	for i := range c.newCommits {
		byPart[c.newCommits[i].Partition] = append(byPart[c.newCommits[i].Partition], i)
	}
	for i, op := range c.ops {
		if op.sink {
			continue
		}
		for _, k := range byPart[op.dir] {
			c.newCommits[k].Bytes += c.jobs[i].pf.Size
		}
	}
	if len(c.jobs) == 0 && len(c.newCommits) == 0 && len(c.ready) == 0 {
		return nil, nil
	}
	if err := p.fp(FPIndexBeforeInflight); err != nil {
		return nil, err
	}
	e := p.indexEntry(c.indexN, c.seq, c.jobs, c.newCommits)
	for _, j := range c.ready {
		e.Actions = append(e.Actions, p.mergeActions(j)...)
	}
	if err := p.idx.WriteInflight(e); err != nil {
		return nil, fmt.Errorf("checkpoint %d: %w", c.seq, err)
	}
	if err := p.fp(FPIndexAfterInflight); err != nil {
		return nil, err
	}
	entry := &indexItem{e: state.IndexEntry{N: c.indexN, Checkpoint: c.seq, Epoch: p.epoch}, waiting: map[string]bool{}}
	for _, j := range c.jobs {
		entry.waiting[j.pf.Staging] = true
	}
	for _, j := range c.ready {
		entry.waiting[mergeKey(j.m.Final)] = true
	}
	return entry, nil
}

// detach takes every open file out of the consume loop's hands, in a fixed
// order, and adds its rows and offsets to its partition's totals (its size
// follows once it is rolled).
func (p *Pipeline) detach() []*openPart {
	var ops []*openPart
	for _, s := range p.shards {
		n := len(ops)
		for _, op := range s.open {
			ops = append(ops, op)
		}
		// Shard by shard: a partition may have a file in each.
		sort.Slice(ops[n:], func(i, j int) bool { return ops[n+i].dir < ops[n+j].dir })
		clear(s.open)
		s.last = nil
	}
	for _, op := range ops {
		if op.sink {
			continue
		}
		st := p.cp.Partitions[op.dir]
		if st == nil {
			b := p.boundOf(op.start)
			st = &state.Partition{Start: b.start, End: b.end}
			if op.late {
				// A late record for a partition landfall doesn't track:
				// before the first cursor it was never committed, and these
				// files are all it holds; past retention its totals were
				// dropped and must come from its files.
				st.Committed = true
				st.Recount = p.cp.FirstCursor == nil || st.Start >= *p.cp.FirstCursor
			}
			p.cp.Partitions[op.dir] = st
		}
		st.Files++
		st.Rows += op.part.Rows()
		if st.Offsets == nil {
			st.Offsets = map[int32][2]int64{}
		}
		for part, rg := range op.offsets {
			cur, ok := st.Offsets[part]
			if !ok {
				st.Offsets[part] = *rg
				continue
			}
			cur[0] = min(cur[0], rg[0])
			cur[1] = max(cur[1], rg[1])
			st.Offsets[part] = cur
		}
		if op.late && st.Committed {
			p.lateDirty[op.dir] = true
		}
	}
	p.m.openFiles.Set(0)
	return ops
}

// roll finishes the detached files ops and makes them durable, beside the
// consume loop: it reads only what the consume loop no longer touches. Syncs
// run in parallel: with hundreds of open partitions on HDFS they dominate.
func (p *Pipeline) roll(seq uint64, ops []*openPart) ([]finalizeJob, error) {
	jobs := make([]finalizeJob, len(ops))
	errs := make([]error, len(ops))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	// After the first failure the checkpoint fails anyway: rolling the
	// rest would only wait out more deadlines on a hung warehouse.
	var failed atomic.Bool
	for i, op := range ops {
		sem <- struct{}{}
		if failed.Load() {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := op.part.Roll(p.fileMeta(op))
			if err != nil {
				errs[i] = err
				failed.Store(true)
				return
			}
			ext := p.format.Ext()
			if op.dir == invalidDir {
				ext = p.invalid.Ext()
			}
			final := path.Join(op.dir, fmt.Sprintf("part-%s-%010d-%s-%04d%s", p.cfg.LogID, seq, p.token, i, ext))
			offs := make(map[int32][2]int64, len(op.offsets))
			for k, v := range op.offsets {
				offs[k] = *v
			}
			jobs[i] = finalizeJob{part: op.part, offsets: offs, evMin: op.evMin, evMax: op.evMax, pf: state.PendingFile{
				Staging: op.part.Name(), Final: final, Size: r.Size, Rows: r.Rows,
				Sidecars: r.Sidecars, Partition: op.dir,
			}}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("checkpoint %d: roll part files: %w", seq, err)
	}
	return jobs, nil
}

func (p *Pipeline) fileMeta(op *openPart) map[string]string {
	parts := make([]int32, 0, len(op.offsets))
	for k := range op.offsets {
		parts = append(parts, k)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	var b strings.Builder
	for i, k := range parts {
		if i > 0 {
			b.WriteByte(',')
		}
		r := op.offsets[k]
		fmt.Fprintf(&b, "%d:%d-%d", k, r[0], r[1])
	}
	return map[string]string{
		"landfall.version": Version,
		"landfall.logid":   p.cfg.LogID,
		"landfall.topic":   p.cfg.Kafka.Topic,
		"landfall.offsets": b.String(),
	}
}

// advance moves the watermark and the commit cursor and returns the commits
// that become due: every partition (with data or not) whose end plus the
// commit delay the watermark has passed, in order, and updates of committed
// partitions that received late files.
func (p *Pipeline) advance(ctx context.Context) []state.Commit {
	cp := p.cp
	// fresh: the partitions are known from a look at this checkpoint.
	fresh := false
	if !time.Now().Before(p.nextDiscover) {
		_, err := p.discover(ctx)
		fresh = err == nil
	}
	// Kafka is asked at most once per checkpoint, and only when the answer
	// matters: a checkpoint without records, or a partition gone quiet.
	var ends map[int32]offsetRange
	listed := false
	list := func() map[int32]offsetRange {
		if !listed {
			listed = true
			ends = p.listEnds(ctx)
		}
		return ends
	}
	switch {
	case p.interval > 0:
		cp.IdleCheckpoints = 0
	case p.caughtUp(list()):
		cp.IdleCheckpoints++
	default:
		// No records, but Kafka holds some we have not read (start-up, a
		// slow or unreachable broker): that is a backlog, not a stream
		// break, and the processing-time clock must not commit past it.
		cp.IdleCheckpoints = 0
	}
	p.interval = 0
	p.ckptNo++
	ooo := p.cfg.Watermark.OutOfOrderness.Milliseconds()
	// Every partition of the topic holds the watermark at its largest event
	// time, except one that is both idle (no record for idle_checkpoints
	// checkpoints) and known, by this checkpoint's listing, to have nothing
	// left to read. Quiet is not enough: a partition whose leader is
	// unreachable delivers nothing while holding a backlog, and committing
	// past it lands its records in committed partitions. A partition that
	// must hold but has no event time yet holds the watermark where it is.
	wm := int64(math.MaxInt64)
	active, held := false, false
	for part := range p.parts {
		if p.ckptNo-p.lastSeen[part] > p.cfg.Watermark.IdleCheckpoints && p.partCaughtUp(list(), part) {
			continue
		}
		t, ok := cp.MaxEventTime[part]
		if !ok {
			held = true
			continue
		}
		active = true
		wm = min(wm, t-ooo)
	}
	next := cp.Watermark
	if active && !held && wm > next {
		next = wm
	}
	if cp.IdleCheckpoints >= p.cfg.Watermark.IdleCheckpoints && cp.CursorSet {
		// Stream break: no data anywhere, so processing time says how far
		// event time has got.
		if clock := p.now().UnixMilli() - ooo; clock > next {
			next = clock
		}
	}
	// Partitions are looked for only now and then, but before the watermark
	// commits a partition it must know them all: one created since the last
	// look holds the watermark (no event time, not known caught up) from
	// this checkpoint on, and so does a look that failed. One hour's commit
	// costs one metadata request.
	if next > cp.Watermark && !fresh && p.commitDue(next) {
		if found, err := p.discover(ctx); found || err != nil {
			next = cp.Watermark
		}
	}
	cp.Watermark = next
	if !cp.CursorSet && p.minEvent != math.MaxInt64 {
		cp.CommitCursor, cp.CursorSet = p.boundOf(p.minEvent).start, true
		first := cp.CommitCursor
		cp.FirstCursor = &first
	}

	var out []state.Commit
	nowMs := p.now().UnixMilli()
	delay := p.cfg.Commit.Delay.Milliseconds()
	for n := 0; cp.CursorSet && n < maxCommitsPerCheckpoint; n++ {
		p.skipEmptyPast()
		b := p.boundOf(cp.CommitCursor)
		if b.end+delay > cp.Watermark {
			break
		}
		st := cp.Partitions[b.path]
		if st == nil {
			st = &state.Partition{Start: b.start, End: b.end}
			cp.Partitions[b.path] = st
		}
		st.Committed = true
		out = append(out, p.newCommit(b.path, st, false, nowMs))
		delete(p.lateDirty, b.path)
		cp.CommitCursor = b.end
	}
	dirty := make([]string, 0, len(p.lateDirty))
	for d := range p.lateDirty {
		dirty = append(dirty, d)
	}
	sort.Strings(dirty)
	for _, d := range dirty {
		st := cp.Partitions[d]
		out = append(out, p.newCommit(d, st, st.Commits > 0 || st.Recount, nowMs))
	}
	clear(p.lateDirty)
	return out
}

// skipEmptyPast keeps the commit cursor within commit.horizon of the
// watermark: older hours without data are not committed one by one (a
// first record from 1970 would otherwise queue 56 years of empty hours,
// a commit storm that outgrows the state), hours with data still are, and
// records older than the cursor are late. The skipped range is logged and
// counted: nothing waits on it silently.
func (p *Pipeline) skipEmptyPast() {
	cp := p.cp
	h := p.cfg.Commit.Horizon.Milliseconds()
	if !cp.CursorSet || h <= 0 || cp.Watermark-h <= cp.CommitCursor {
		return
	}
	to := p.boundOf(cp.Watermark - h).start
	for _, st := range cp.Partitions {
		if !st.Committed && st.Start >= cp.CommitCursor && st.Start < to {
			to = st.Start
		}
	}
	if to <= cp.CommitCursor {
		return
	}
	p.log.Warn("not committing empty partitions older than commit.horizon", "from", time.UnixMilli(cp.CommitCursor).UTC(), "to", time.UnixMilli(to).UTC(),
		"watermark", time.UnixMilli(cp.Watermark).UTC(), "horizon", p.cfg.Commit.Horizon)
	p.m.skippedEmpty.Add(float64(to-cp.CommitCursor) / float64(time.Hour.Milliseconds()))
	cp.CommitCursor = to
}

// commitDue says whether watermark wm would make a partition commit due.
func (p *Pipeline) commitDue(wm int64) bool {
	cursor, set := p.cp.CommitCursor, p.cp.CursorSet
	if !set && p.minEvent != math.MaxInt64 {
		cursor, set = p.boundOf(p.minEvent).start, true
	}
	return set && p.boundOf(cursor).end+p.cfg.Commit.Delay.Milliseconds() <= wm
}

// listEnds lists every partition of the topic, bounded in time; what it
// has no answer for is unknown, and unknown is never caught up.
func (p *Pipeline) listEnds(ctx context.Context) map[int32]offsetRange {
	if p.ends == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, kafkaListTimeout)
	defer cancel()
	ends, err := p.ends(ctx)
	if err != nil {
		p.log.Warn("kafka offsets unknown for some partitions; they hold the watermark and there is no stream break", "topic", p.cfg.Kafka.Topic, "err", err)
	}
	return ends
}

// caughtUp says whether every partition of the topic (consumed, or only
// just listed: new ones are discovered at a later checkpoint) has been
// consumed to its last stable offset, the end of what read_committed can
// read; an open transaction's records are not a backlog until it ends.
func (p *Pipeline) caughtUp(ends map[int32]offsetRange) bool {
	for part := range p.parts {
		if !p.partCaughtUp(ends, part) {
			return false
		}
	}
	for part := range ends {
		if !p.partCaughtUp(ends, part) {
			return false
		}
	}
	return len(p.parts) > 0
}

// maxCommitsPerCheckpoint bounds the work of one checkpoint after a long
// outage or a watermark jump; the rest follow at the next checkpoints.
const maxCommitsPerCheckpoint = 1000

// newCommit queues a commit of dir. Its key and sequence come from the
// checkpoint being written, which no later commit of the logid shares:
// unique for good, also once the partition's totals are dropped after
// late.retention and a late record brings it back. The commit takes the
// partition's offset ranges with it.
func (p *Pipeline) newCommit(dir string, st *state.Partition, update bool, nowMs int64) state.Commit {
	st.Commits++
	seq := p.cp.Seq + 1
	c := state.Commit{
		Partition: dir,
		Key:       p.cfg.LogID + "/" + dir + "/" + strconv.FormatUint(seq, 10),
		Seq:       int(seq),
		Update:    update,
		Recount:   st.Recount,
		Files:     st.Files, Rows: st.Rows, Bytes: st.Bytes,
		Watermark: p.cp.Watermark, Queued: nowMs, Offsets: st.Offsets,
	}
	st.Offsets = nil
	return c
}

// prune forgets committed partitions older than the late-data retention.
func (p *Pipeline) prune() {
	horizon := p.cp.Watermark - p.cfg.Late.Retention.Milliseconds()
	p.mu.Lock()
	defer p.mu.Unlock()
	queued := map[string]bool{}
	for _, q := range p.queue {
		queued[q.c.Partition] = true
	}
	for k, st := range p.cp.Partitions {
		if st.Committed && st.End < horizon && !queued[k] {
			delete(p.cp.Partitions, k)
		}
	}
}

// finalizer closes rolled files (slow on HDFS, so off the consume loop) and
// renames them to their committed names: sidecars first, the data file last,
// so that a reader never sees data without its index.
func (p *Pipeline) finalizer(ctx context.Context, jobs <-chan finalizeJob) {
	for j := range jobs {
		if ctx.Err() != nil {
			continue // crashed: leave everything for recovery
		}
		if err := p.finalize(ctx, j); err != nil {
			p.fail(err)
			continue
		}
	}
}

func (p *Pipeline) finalize(ctx context.Context, j finalizeJob) error {
	if err := p.fp(FPBeforeClose); err != nil {
		return err
	}
	err := j.part.Close()
	p.mu.Lock()
	delete(p.unclosed, j.part)
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if err := p.fp(FPBeforeRename); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := p.publish(j.pf); err != nil {
		return err
	}
	if err := p.fp(FPAfterRename); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.pending, j.pf.Staging)
	p.indexRenamed(j.pf.Staging)
	p.perPart[j.pf.Partition]--
	if p.perPart[j.pf.Partition] <= 0 {
		delete(p.perPart, j.pf.Partition)
	}
	p.mu.Unlock()
	p.signal()
	return nil
}

// publish renames a durable file to its committed name. It is idempotent: a
// file already renamed (by this process before a crash, or by a zombie) is
// fine; a file that is in neither place is lost data and stops landfall.
func (p *Pipeline) publish(pf state.PendingFile) error {
	for _, s := range pf.Sidecars {
		if err := p.rename(pf.Staging+s, pf.Final+s, -1); err != nil {
			return err
		}
	}
	return p.rename(pf.Staging, pf.Final, pf.Size)
}

// ErrLostFile means a file a durable checkpoint owns is gone from both its
// staging and its committed name; landfall refuses to continue.
var ErrLostFile = errors.New("committer: pending file lost")

func (p *Pipeline) rename(from, to string, size int64) error {
	err := p.fs.Rename(from, to)
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist) {
		if _, serr := p.fs.Stat(to); serr == nil {
			if _, serr := p.fs.Stat(from); errors.Is(serr, fs.ErrNotExist) {
				return nil
			}
		}
		if _, serr := p.fs.Stat(from); errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s (committed name %s)", ErrLostFile, from, to)
		}
	}
	return fmt.Errorf("rename part file %s: %w", from, err)
}

func (p *Pipeline) fail(err error) {
	select {
	case p.fatal <- err:
	default:
	}
}

func (p *Pipeline) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// waitFinalized waits until no rolled file is waiting for its rename.
func (p *Pipeline) waitFinalized(ctx context.Context) {
	for {
		p.mu.Lock()
		n := len(p.pending)
		p.mu.Unlock()
		if n == 0 || ctx.Err() != nil {
			return
		}
		select {
		case err := <-p.fatal:
			p.fail(err)
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// recover replays the last durable checkpoint: every pending file is made
// complete and renamed, then whatever else is in staging (files of
// checkpoints that never became durable) is deleted.
func (p *Pipeline) recover(ctx context.Context) error {
	for i, pf := range p.cp.Pending {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := p.fs.Recover(pf.Staging); err == nil {
			st, err := p.fs.Stat(pf.Staging)
			if err != nil {
				return fmt.Errorf("recover %s: %w", pf.Staging, err)
			}
			if st.Size() != pf.Size {
				return fmt.Errorf("recover %s: %d bytes, the checkpoint says %d", pf.Staging, st.Size(), pf.Size)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("recover %s: %w", pf.Staging, err)
		}
		if err := p.publish(pf); err != nil {
			return fmt.Errorf("recovery: %w", err)
		}
		if i == 0 {
			if err := p.fp(FPRecoveryFinalize); err != nil {
				return err
			}
		}
	}
	p.cp.Pending = nil
	if err := p.recoverMerges(); err != nil {
		return err
	}
	if err := p.recoverIndex(); err != nil {
		return err
	}
	if err := p.fp(FPRecoverySweep); err != nil {
		return err
	}
	return p.sweep()
}

// sweep deletes what older owners left in staging: the files of checkpoints
// that never became durable. Everything a durable checkpoint owned is
// published by now. A newer owner's directory is left alone (this process
// is a zombie then, and its fence will say so), and so is this owner's. A
// file directly under the root is from a build before epochs: older.
func (p *Pipeline) sweep() error {
	root := p.stagingRoot()
	ents, err := p.fs.ReadDir(root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("list staging: %w", err)
	}
	removed := 0
	remove := func(name string) error {
		if err := p.fs.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove orphan: %w", err)
		}
		return nil
	}
	for _, e := range ents {
		name := path.Join(root, e.Name())
		if !e.IsDir() {
			if err := remove(name); err != nil {
				return err
			}
			removed++
			p.m.orphans.Inc()
			continue
		}
		epoch, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil {
			p.log.Warn("unknown directory in staging left alone", "file", name)
			continue
		}
		if epoch >= p.epoch {
			if epoch > p.epoch {
				p.log.Warn("staging of a newer owner found: this process may no longer own the logid", "file", name, "epoch", p.epoch)
			}
			continue
		}
		files, err := p.fs.ReadDir(name)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("list staging: %w", err)
		}
		for _, f := range files {
			if err := remove(path.Join(name, f.Name())); err != nil {
				return err
			}
			removed++
			p.m.orphans.Inc()
		}
		if err := remove(name); err != nil {
			return err
		}
	}
	if removed > 0 {
		p.log.Info("removed orphan part files", "count", removed)
	}
	return nil
}
