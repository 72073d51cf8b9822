package index

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/landfall/landfall/writer/fsys"
)

// Log writes a logid's index. One process owns it at a time — the
// committer's owner — and passes its fenced filesystem, so that a zombie's
// Create, Rename and Remove fail before they reach the warehouse: a zombie
// can't publish. Its methods are safe for concurrent use but the protocol
// is sequential: entries are written and published in order of N.
type Log struct {
	fs    fsys.FS
	logid string
	dir   string
	o     options
	m     *logMetrics

	mu      sync.Mutex // serializes pointer updates (Snapshot, Expire)
	commits sync.Map   // n → commit time of an entry written by this Log, for the age metric
}

// NewLog returns the writer of logid's index on fs (the table root).
func NewLog(f fsys.FS, logid string, opts ...Option) *Log {
	o := newOptions(opts)
	return &Log{fs: f, logid: logid, dir: Dir(logid), o: o, m: newLogMetrics(&o)}
}

func (l *Log) entryPath(n uint64) string { return path.Join(l.dir, entryName(n)) }

// inflightPath is where entry n waits for its publish: with the writer's
// epoch in the name when it has one.
func (l *Log) inflightPath(n uint64) string {
	if l.o.epoch > 0 {
		return fmt.Sprintf("%s.%020d%s", l.entryPath(n), l.o.epoch, inflightSuffix)
	}
	return l.entryPath(n) + inflightSuffix
}

// inflightEpoch is the epoch in an entry's inflight name, 0 without one.
func inflightEpoch(name string) int64 {
	base := strings.TrimSuffix(name, inflightSuffix)
	i := strings.LastIndexByte(base, '.')
	if i < 0 || !strings.HasSuffix(base[:i], entryExt) {
		return 0
	}
	e, err := strconv.ParseInt(base[i+1:], 10, 64)
	if err != nil {
		return 0
	}
	return e
}

// WriteInflight writes entry e.N under its hidden inflight name, durably.
// Call it before the checkpoint that promises the entry is saved: then
// recovery finds it, and a crash before the save leaves only an inflight
// that nobody publishes and the next attempt rewrites (a leftover inflight
// is replaced). If entry e.N is already published, it does nothing: a
// recovery that rewrites the entry has nothing to add.
func (l *Log) WriteInflight(e *Entry) error {
	if e.N == 0 {
		return fmt.Errorf("index: write entry: N must start at 1")
	}
	if e.LogID == "" {
		e.LogID = l.logid
	}
	if e.CommitTime.IsZero() {
		e.CommitTime = l.o.now()
	}
	final := l.entryPath(e.N)
	if _, err := l.fs.Stat(final); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("index: write entry %d: %w", e.N, err)
	}
	b, err := encode(e, kindEntry)
	if err != nil {
		return fmt.Errorf("index: encode entry %d: %w", e.N, err)
	}
	tmp := l.inflightPath(e.N)
	if err := l.fs.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("index: write entry %d: remove leftover inflight: %w", e.N, err)
	}
	if err := writeFile(l.fs, tmp, b); err != nil {
		return fmt.Errorf("index: write entry %d: %w", e.N, err)
	}
	l.commits.Store(e.N, e.CommitTime)
	return nil
}

// Publish makes entry n visible to readers by renaming its inflight file;
// call it after the checkpoint that promises it is durable and after the
// entry's data files are renamed to their committed names, so a reader is
// never handed a file that isn't there. It is idempotent: an entry already
// published returns nil (recovery calls it again). With neither the
// inflight nor the published file it returns ErrNotWritten.
func (l *Log) Publish(n uint64) error {
	final := l.entryPath(n)
	tmp := l.inflightPath(n)
	err := l.fs.Rename(tmp, final)
	switch {
	case err == nil:
		l.published(n)
		return nil
	case errors.Is(err, fs.ErrExist):
		// Published before; the inflight is a copy WriteInflight would not
		// have made, left by an older build or a crash: the published one
		// stands.
		if rerr := l.fs.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return fmt.Errorf("index: publish entry %d: remove duplicate inflight: %w", n, rerr)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		if _, serr := l.fs.Stat(final); serr == nil {
			return nil
		} else if !errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("index: publish entry %d: %w", n, serr)
		}
		return fmt.Errorf("index: publish entry %d: %w", n, ErrNotWritten)
	default:
		return fmt.Errorf("index: publish entry %d: %w", n, err)
	}
}

func (l *Log) published(n uint64) {
	l.m.published.Inc()
	t := l.o.now()
	if v, ok := l.commits.LoadAndDelete(n); ok {
		t = v.(time.Time)
	}
	if ms := t.UnixMilli(); ms > l.m.newestMs.Load() {
		l.m.newestMs.Store(ms)
	}
}

// Snapshot writes snapshot-n: the live files (adds not removed since) and
// the latest completion of every partition, as of entry n, built from the
// newest snapshot before it and the published entries after that one; then
// it points _last_snapshot at it. Entries are only read, never changed, so
// the pipeline may call it off the checkpoint path, every K entries (see
// FORMAT.md on choosing K). It is idempotent.
func (l *Log) Snapshot(n uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, err := readPointer(l.fs, l.dir, true)
	if err != nil {
		return fmt.Errorf("index: snapshot %d: %w", n, err)
	}
	if p == nil {
		p = &pointer{Oldest: 1}
	}
	if p.Snapshot >= n {
		return nil
	}
	name := path.Join(l.dir, snapshotName(n))
	if _, err := l.fs.Stat(name); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("index: snapshot %d: %w", n, err)
		}
		b, files, err := l.build(p.Snapshot, n)
		if err != nil {
			return fmt.Errorf("index: snapshot %d: %w", n, err)
		}
		tmp := name + inflightSuffix
		if err := l.fs.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("index: snapshot %d: remove leftover inflight: %w", n, err)
		}
		if err := writeFile(l.fs, tmp, b); err != nil {
			return fmt.Errorf("index: snapshot %d: %w", n, err)
		}
		if err := l.fs.Rename(tmp, name); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("index: snapshot %d: publish: %w", n, err)
		}
		l.m.snapshotBytes.Set(float64(len(b)))
		l.m.snapshotFiles.Set(float64(files))
	}
	p.Snapshot = n
	p.Snapshots = append(p.Snapshots, n)
	if err := replaceFile(l.fs, path.Join(l.dir, pointerName), encodePointer(p, l.o.now()), validPointer); err != nil {
		return fmt.Errorf("index: snapshot %d: update %s: %w", n, pointerName, err)
	}
	return nil
}

// build replays snapshot prev (0: none) and entries prev+1..n into the
// encoded snapshot n.
func (l *Log) build(prev, n uint64) ([]byte, int, error) {
	live := newLiveSet()
	if prev > 0 {
		e, err := readDecoded(l.fs, path.Join(l.dir, snapshotName(prev)), kindSnapshot)
		if err != nil {
			return nil, 0, fmt.Errorf("read snapshot %d: %w", prev, err)
		}
		live.apply(e)
	}
	var last *Entry
	for i := prev + 1; i <= n; i++ {
		e, err := readDecoded(l.fs, l.entryPath(i), kindEntry)
		if err != nil {
			return nil, 0, fmt.Errorf("read entry %d: %w", i, err)
		}
		if e.N != i || e.LogID != l.logid {
			return nil, 0, fmt.Errorf("read entry %d: %w: header says entry %d of logid %q", i, ErrCorrupt, e.N, e.LogID)
		}
		live.apply(e)
		last = e
	}
	s := live.entry()
	s.N, s.LogID = n, l.logid
	if last != nil {
		s.Checkpoint, s.CommitTime = last.Checkpoint, last.CommitTime
	}
	b, err := encode(s, kindSnapshot)
	return b, len(live.files), err
}

// Expire deletes published entries older than the retention that are
// covered by the newest snapshot and numbered below before, and the older
// snapshots whose following entries are gone. It first moves the pointer's
// oldest entry, then deletes in ascending order, so a reader that finds an
// entry missing and the pointer past it knows its cursor expired. It
// returns how many entries it deleted.
func (l *Log) Expire(before uint64) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, err := readPointer(l.fs, l.dir, true)
	if err != nil || p == nil {
		return 0, wrapExpire(err)
	}
	limit := min(before, p.Snapshot+1)
	cutoff := l.o.now().Add(-l.o.retention)
	keep := p.Oldest
	for ; keep < limit; keep++ {
		st, err := l.fs.Stat(l.entryPath(keep))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted by an interrupted Expire
		}
		if err != nil {
			return 0, wrapExpire(err)
		}
		if st.ModTime().After(cutoff) {
			break
		}
	}
	// An Expire that crashed after moving the pointer left entries below
	// it; they are the run just under the old oldest.
	from := p.Oldest
	for from > 1 {
		if _, err := l.fs.Stat(l.entryPath(from - 1)); err != nil {
			break
		}
		from--
	}
	if keep > p.Oldest {
		p.Oldest = keep
		var kept []uint64
		for _, s := range p.Snapshots {
			// A snapshot is useful while the entry after it exists; the
			// newest is always kept.
			if s+1 >= keep || s == p.Snapshot {
				kept = append(kept, s)
			}
		}
		gone := p.Snapshots
		p.Snapshots = kept
		if err := replaceFile(l.fs, path.Join(l.dir, pointerName), encodePointer(p, l.o.now()), validPointer); err != nil {
			return 0, wrapExpire(err)
		}
		for _, s := range gone {
			if s+1 >= keep || s == p.Snapshot {
				continue
			}
			if err := l.fs.Remove(path.Join(l.dir, snapshotName(s))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return 0, wrapExpire(err)
			}
		}
	}
	deleted := 0
	for i := from; i < p.Oldest; i++ {
		err := l.fs.Remove(l.entryPath(i))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return deleted, wrapExpire(err)
		}
		deleted++
		l.m.expired.Inc()
	}
	return deleted, nil
}

func wrapExpire(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("index: expire: %w", err)
}

// Clean removes the inflight files a crash left (entries, snapshots) and
// finishes an interrupted pointer update. Call it after recovery has
// published what the durable state promises — an inflight entry it then
// finds was never promised. It lists the index directory, which is fine
// once per start.
func (l *Log) Clean() (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ents, err := l.fs.ReadDir(l.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("index: clean: %w", err)
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, inflightSuffix) || name == pointerName+inflightSuffix {
			continue
		}
		if e := inflightEpoch(name); l.o.epoch > 0 && e > l.o.epoch {
			// A newer owner's: this process is no longer the owner, and
			// its fence will say so; never touch it.
			continue
		}
		if err := l.fs.Remove(path.Join(l.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("index: clean: %w", err)
		}
		n++
		l.m.cleaned.Inc()
	}
	if _, err := l.fs.Stat(path.Join(l.dir, pointerName)); errors.Is(err, fs.ErrNotExist) {
		tmp := path.Join(l.dir, pointerName+inflightSuffix)
		if b, rerr := readAll(l.fs, tmp, maxPointer); rerr == nil {
			if validPointer(b) {
				err = l.fs.Rename(tmp, path.Join(l.dir, pointerName))
			} else {
				err = l.fs.Remove(tmp)
			}
			if err != nil && !errors.Is(err, fs.ErrExist) {
				return n, fmt.Errorf("index: clean: repair %s: %w", pointerName, err)
			}
		}
	}
	return n, nil
}

func readDecoded(f fsys.FS, name string, k kind) (*Entry, error) {
	r, err := f.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	e, err := decode(r, k)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path.Base(name), err)
	}
	return e, nil
}

// liveSet is the replay of adds and removes.
type liveSet struct {
	files    map[string]*File
	complete map[string]*PartitionComplete
}

func newLiveSet() *liveSet {
	return &liveSet{files: map[string]*File{}, complete: map[string]*PartitionComplete{}}
}

func (s *liveSet) apply(e *Entry) {
	for _, a := range e.Actions {
		switch {
		case a.Add != nil:
			s.files[a.Add.Path] = a.Add
		case a.Remove != nil:
			delete(s.files, a.Remove.Path)
		case a.PartitionComplete != nil:
			s.complete[a.PartitionComplete.Partition] = a.PartitionComplete
		}
	}
}

// entry renders the live set as snapshot actions: adds by path, then
// completions by partition. Every add is a file to read for a reader
// starting here, so it is a data change whatever the add that brought it.
func (s *liveSet) entry() *Entry {
	e := &Entry{Actions: make([]Action, 0, len(s.files)+len(s.complete))}
	for _, f := range sortedValues(s.files) {
		c := *f
		c.DataChange, c.Merge = true, ""
		e.Actions = append(e.Actions, Action{Add: &c})
	}
	for _, pc := range sortedValues(s.complete) {
		e.Actions = append(e.Actions, Action{PartitionComplete: pc})
	}
	return e
}

func sortedValues[V any](m map[string]*V) []*V {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*V, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}
