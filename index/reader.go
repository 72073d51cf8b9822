package index

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/writer/fsys"
)

// Cursor is a position in the index: the number of the last entry a
// reader has handled. Its string form is what a downstream job saves
// ("17"); "earliest" and "latest" are the two named starting points. After
// the synthetic snapshot entry of "earliest" (Entry.Snapshot, N = the
// snapshot's entry) the cursor is that N, so resuming from it continues
// with the entry after the snapshot.
type Cursor struct {
	n   uint64
	pos position
}

type position uint8

const (
	atEntry position = iota
	atEarliest
	atLatest
)

var (
	// Earliest starts at the newest snapshot (handed as one synthetic
	// entry), then every entry after it: the whole live table.
	Earliest = Cursor{pos: atEarliest}
	// Latest starts after the newest published entry: only what comes next.
	Latest = Cursor{pos: atLatest}
)

// After is the cursor of a reader that has handled entry n ("0": none yet,
// entry 1 is next).
func After(n uint64) Cursor { return Cursor{n: n} }

// ParseCursor reads "earliest", "latest" or an entry number.
func ParseCursor(s string) (Cursor, error) {
	switch s {
	case "earliest":
		return Earliest, nil
	case "latest":
		return Latest, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return Cursor{}, fmt.Errorf("%w %q: want earliest, latest or an entry number", ErrBadCursor, s)
	}
	return After(n), nil
}

func (c Cursor) String() string {
	switch c.pos {
	case atEarliest:
		return "earliest"
	case atLatest:
		return "latest"
	}
	return strconv.FormatUint(c.n, 10)
}

// Entry is the last entry handled, for a cursor made by After or
// ParseCursor of a number.
func (c Cursor) Entry() uint64 { return c.n }

// Reader follows a logid's index. It only ever opens published files:
// entries by their number, the snapshot the pointer names, the pointer;
// it lists the index directory only when it starts and finds no pointer
// (a table whose pointer was being replaced at that very instant, or one
// damaged by hand).
type Reader struct {
	fs    fsys.FS
	logid string
	dir   string
	o     options
	m     *readerMetrics
}

// Open returns a reader of logid's index on f (the table root). It does no
// I/O: a table whose index does not exist yet is followed from entry 1.
func Open(f fsys.FS, logid string, opts ...Option) *Reader {
	o := newOptions(opts)
	return &Reader{fs: f, logid: logid, dir: Dir(logid), o: o, m: newReaderMetrics(&o)}
}

// expiryCheckEvery is how often (in consecutive empty polls) a waiting
// reader also reads the pointer, to notice that expiry overtook it. It
// always checks on the first empty poll after reading entries, which is
// when a lagging reader runs into deleted ones.
const expiryCheckEvery = 30

// Follow calls fn with every entry after from, in order, once each, and
// returns fn's first error, ctx's, or a read error. With poll > 0 it waits
// for new entries, probing the next number every poll — one filesystem
// call, two when it also checks expiry, never a listing; with poll <= 0
// it returns nil once it has read the newest entry.
//
// While following (poll > 0), a read that fails for a reason other than a
// damaged or newer-format index or an expired cursor — a DataNode
// restarting, a NameNode failover — is retried with backoff for up to
// WithReadRetry (DefaultReadRetry), each failure logged and counted, and
// then returned: a downstream job rides out what landfall itself rides out.
//
// fn's entry is the reader's to keep. The cursor to save after fn returns
// nil is After(e.N): resuming from it yields exactly the entries after e.
func (r *Reader) Follow(ctx context.Context, from Cursor, poll time.Duration, fn func(*Entry) error) error {
	var next uint64
	var snap *Entry
	if err := r.retry(ctx, poll, "start", func() (err error) {
		next, snap, err = r.start(from)
		return err
	}); err != nil {
		return err
	}
	if snap != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.hand(snap, fn); err != nil {
			return err
		}
	}
	misses := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var e *Entry
		if err := r.retry(ctx, poll, "entry "+strconv.FormatUint(next, 10), func() (err error) {
			e, err = r.entry(next)
			if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			e = nil
			if misses%expiryCheckEvery == 0 {
				return r.checkExpired(next, false)
			}
			return nil
		}); err != nil {
			return err
		}
		if e != nil {
			misses = 0
			if err := r.hand(e, fn); err != nil {
				return err
			}
			next++
			continue
		}
		misses++
		if poll <= 0 {
			return nil
		}
		if err := sleep(ctx, poll); err != nil {
			return err
		}
	}
}

// DefaultReadRetry is how long a following reader retries a failing read
// before returning its error.
const DefaultReadRetry = 10 * time.Minute

// maxRetryBackoff caps the wait between two retries of a failing read.
const maxRetryBackoff = 30 * time.Second

// retry runs read until it succeeds, fails permanently, or has failed for
// longer than the read-retry budget; without following (poll <= 0) it
// does not retry.
func (r *Reader) retry(ctx context.Context, poll time.Duration, what string, read func() error) error {
	err := read()
	if err == nil || poll <= 0 || permanent(err) {
		return err
	}
	start := r.o.now()
	wait := max(poll, 100*time.Millisecond)
	for attempt := 1; ; attempt++ {
		r.m.readErrors.Inc()
		if r.o.now().Sub(start) >= r.o.readRetry {
			return fmt.Errorf("%w (failing for %v, the reader's read retry: WithReadRetry)", err, r.o.now().Sub(start).Round(time.Second))
		}
		r.o.log.Warn("index read failed, retrying", "logid", r.logid, "read", what, "attempt", attempt,
			"retry_in", wait, "err", err)
		if serr := sleep(ctx, wait); serr != nil {
			return serr
		}
		wait = min(2*wait, maxRetryBackoff)
		if err = read(); err == nil || permanent(err) {
			return err
		}
	}
}

// permanent reports errors that another try can't fix.
func permanent(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNewerFormat) || errors.Is(err, ErrCursorExpired) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *Reader) hand(e *Entry, fn func(*Entry) error) error {
	if e.Unknown > 0 {
		r.m.unknown.Add(float64(e.Unknown))
		r.o.log.Warn("index entry has actions of unknown kinds, skipped (written by a newer landfall?)",
			"entry", e.N, "skipped", e.Unknown)
	}
	r.m.entries.Inc()
	return fn(e)
}

// entry opens published entry n; a missing one is fs.ErrNotExist.
func (r *Reader) entry(n uint64) (*Entry, error) {
	e, err := readDecoded(r.fs, path.Join(r.dir, entryName(n)), kindEntry)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("index: read entry %d: %w", n, err)
	}
	if e.N != n || e.LogID != r.logid {
		return nil, fmt.Errorf("index: read entry %d: %w: header says entry %d of logid %q", n, ErrCorrupt, e.N, e.LogID)
	}
	return e, nil
}

// checkExpired fails with ErrCursorExpired when entry next was deleted by
// expiry.
func (r *Reader) checkExpired(next uint64, thorough bool) error {
	p, err := readPointer(r.fs, r.dir, thorough)
	if err != nil {
		return err
	}
	if p != nil && p.Oldest > next {
		return fmt.Errorf("%w: entry %d is next, the oldest kept is %d (a snapshot covers up to %d: restart from earliest)",
			ErrCursorExpired, next, p.Oldest, p.Snapshot)
	}
	return nil
}

// start resolves from into the next entry number; for Earliest it also
// returns the snapshot entry to hand first.
func (r *Reader) start(from Cursor) (uint64, *Entry, error) {
	switch from.pos {
	case atEntry:
		next := from.n + 1
		if _, err := r.fs.Stat(path.Join(r.dir, entryName(next))); err == nil {
			return next, nil, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return 0, nil, fmt.Errorf("index: start after entry %d: %w", from.n, err)
		}
		return next, nil, r.checkExpired(next, true)
	case atEarliest:
		s, err := r.base()
		if err != nil {
			return 0, nil, err
		}
		if s.snapshot == 0 {
			return s.oldest, nil, nil
		}
		e, err := r.snapshot(s.snapshot)
		if err != nil {
			return 0, nil, err
		}
		return s.snapshot + 1, e, nil
	default:
		s, err := r.base()
		if err != nil {
			return 0, nil, err
		}
		newest, err := r.newest(max(s.snapshot, s.oldest-1))
		if err != nil {
			return 0, nil, err
		}
		return newest + 1, nil, nil
	}
}

type base struct{ snapshot, oldest uint64 }

// base finds the newest snapshot and the oldest entry: from the pointer,
// or — with no pointer — from entry 1 if it exists (nothing was ever
// expired), else from a listing of the index directory.
func (r *Reader) base() (base, error) {
	p, err := readPointer(r.fs, r.dir, true)
	if err != nil {
		return base{}, err
	}
	if p != nil {
		return base{p.Snapshot, p.Oldest}, nil
	}
	if _, err := r.fs.Stat(path.Join(r.dir, entryName(1))); err == nil {
		return base{0, 1}, nil
	}
	return r.list()
}

// list is the start-only fallback: the newest published snapshot and the
// oldest published entry, by name.
func (r *Reader) list() (base, error) {
	ents, err := r.fs.ReadDir(r.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return base{0, 1}, nil
	}
	if err != nil {
		return base{}, fmt.Errorf("index: list %s: %w", r.dir, err)
	}
	b := base{}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, entryExt) {
			continue
		}
		num := strings.TrimSuffix(strings.TrimPrefix(name, "snapshot-"), entryExt)
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			continue
		}
		if strings.HasPrefix(name, "snapshot-") {
			b.snapshot = max(b.snapshot, n)
		} else if b.oldest == 0 || n < b.oldest {
			b.oldest = n
		}
	}
	if b.oldest == 0 {
		b.oldest = b.snapshot + 1
		if b.snapshot == 0 {
			b.oldest = 1
		}
	}
	if b.snapshot == 0 && b.oldest > 1 {
		return base{}, fmt.Errorf("%w: no snapshot, and entries start at %d", ErrCorrupt, b.oldest)
	}
	return b, nil
}

func (r *Reader) snapshot(n uint64) (*Entry, error) {
	e, err := readDecoded(r.fs, path.Join(r.dir, snapshotName(n)), kindSnapshot)
	if errors.Is(err, fs.ErrNotExist) {
		// Replaced and expired between our pointer read and this open:
		// the pointer names a newer one now.
		var p *pointer
		if p, err = readPointer(r.fs, r.dir, true); err == nil && p != nil && p.Snapshot > n {
			return r.snapshot(p.Snapshot)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("index: read snapshot %d: %w", n, err)
	}
	if e.N != n || e.LogID != r.logid {
		return nil, fmt.Errorf("index: read snapshot %d: %w: header says %d of logid %q", n, ErrCorrupt, e.N, e.LogID)
	}
	return e, nil
}

// newest finds the newest published entry at or after from (which is
// published or 0) without listing: entries above a snapshot are never
// expired, so "published" is a prefix there, and a galloping then binary
// search costs O(log distance) Stat calls.
func (r *Reader) newest(from uint64) (uint64, error) {
	exists := func(n uint64) (bool, error) {
		_, err := r.fs.Stat(path.Join(r.dir, entryName(n)))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	lo, step := from, uint64(1) // lo exists (or is 0)
	hi := uint64(0)             // hi doesn't exist
	for hi == 0 {
		ok, err := exists(lo + step)
		if err != nil {
			return 0, fmt.Errorf("index: find the newest entry: %w", err)
		}
		if !ok {
			hi = lo + step
			break
		}
		lo += step
		step *= 2
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := exists(mid)
		if err != nil {
			return 0, fmt.Errorf("index: find the newest entry: %w", err)
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// Live is the table's live files as of entry N.
type Live struct {
	N        uint64
	Files    []File              // sorted by path
	Complete []PartitionComplete // the latest completion of each partition, by partition
}

// Live replays the newest snapshot and the entries after it.
func (r *Reader) Live(ctx context.Context) (*Live, error) {
	set := newLiveSet()
	var last uint64
	err := r.Follow(ctx, Earliest, 0, func(e *Entry) error {
		set.apply(e)
		last = e.N
		return nil
	})
	if err != nil {
		return nil, err
	}
	l := &Live{N: last}
	for _, f := range sortedValues(set.files) {
		l.Files = append(l.Files, *f)
	}
	for _, pc := range sortedValues(set.complete) {
		l.Complete = append(l.Complete, *pc)
	}
	return l, nil
}

// LiveFiles returns the live files of one Hive partition (or sink area),
// sorted by path.
func (r *Reader) LiveFiles(ctx context.Context, partition string) ([]File, error) {
	l, err := r.Live(ctx)
	if err != nil {
		return nil, err
	}
	var out []File
	for _, f := range l.Files {
		if f.Partition == partition {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Tracker keeps a table's live set current by reading only the entries
// published since its last call: a writer that plans by the live set (the
// compactor, once per committed partition) pays one read per new entry,
// not a replay of the snapshot and every entry after it. It is not safe
// for concurrent use.
type Tracker struct {
	r    *Reader
	set  *liveSet
	last uint64
	init bool
}

// Tracker returns a tracker of r's table, empty until its first call.
func (r *Reader) Tracker() *Tracker { return &Tracker{r: r} }

// LiveFiles is Reader.LiveFiles from the tracked set, after catching up.
func (t *Tracker) LiveFiles(ctx context.Context, partition string) ([]File, error) {
	if err := t.catchUp(ctx); err != nil {
		return nil, err
	}
	var out []File
	for _, f := range t.set.files {
		if f.Partition == partition {
			out = append(out, *f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (t *Tracker) catchUp(ctx context.Context) error {
	from := After(t.last)
	if !t.init {
		t.set, from = newLiveSet(), Earliest
	}
	err := t.r.Follow(ctx, from, 0, func(e *Entry) error {
		if e.Snapshot {
			t.set = newLiveSet()
		}
		t.set.apply(e)
		t.last = e.N
		return nil
	})
	if errors.Is(err, ErrCursorExpired) && t.init {
		// Not called for longer than the retention: start over.
		t.init, t.last = false, 0
		return t.catchUp(ctx)
	}
	// What was applied is consistent up to t.last: the next call goes on
	// from there.
	t.init = t.init || t.last > 0 || err == nil
	return err
}
