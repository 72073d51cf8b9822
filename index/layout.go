package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/landfall/landfall/writer/fsys"
)

// Names under the table root. The index lives in the logid's hidden area,
// which Hive never lists (names starting with "." are invisible to it).
const (
	inflightSuffix = ".inflight"
	entryExt       = ".jsonl"
	pointerName    = "_last_snapshot"
)

// Dir is the index directory of a logid, relative to the table root.
func Dir(logid string) string { return path.Join(".landfall", logid, "index") }

func entryName(n uint64) string    { return fmt.Sprintf("%020d%s", n, entryExt) }
func snapshotName(n uint64) string { return fmt.Sprintf("snapshot-%020d%s", n, entryExt) }

// pointer is the content of _last_snapshot: where a reader starting at
// "earliest" begins, and what expiry has deleted. It is a hint kept exact
// by its writer; readers fall back to a listing at start only.
type pointer struct {
	Format int `json:"format"`
	// Snapshot is the newest published snapshot; 0 when there is none.
	Snapshot uint64 `json:"snapshot"`
	// Snapshots lists every snapshot still kept, oldest first.
	Snapshots []uint64 `json:"snapshots,omitempty"`
	// Oldest is the oldest entry not deleted by expiry (1 before any).
	Oldest    uint64 `json:"oldest_entry"`
	WrittenMs int64  `json:"written_ms"`
}

// maxPointer bounds a pointer file read: it lists one number per kept
// snapshot.
const maxPointer = 1 << 20

func decodePointer(b []byte) (*pointer, error) {
	var p pointer
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, pointerName, err)
	}
	switch {
	case p.Format > FormatVersion:
		return nil, fmt.Errorf("%w: %s is format %d, this build reads up to %d", ErrNewerFormat, pointerName, p.Format, FormatVersion)
	case p.Format < 1 || p.Oldest < 1 || p.Snapshot > 0 && p.Oldest > p.Snapshot+1:
		return nil, fmt.Errorf("%w: %s: format %d, snapshot %d, oldest entry %d", ErrCorrupt, pointerName, p.Format, p.Snapshot, p.Oldest)
	}
	return &p, nil
}

// readAll reads a whole small file, at most limit bytes.
func readAll(f fsys.FS, name string, limit int64) ([]byte, error) {
	r, err := f.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if r.Size() > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes (limit %d)", ErrCorrupt, name, r.Size(), limit)
	}
	return io.ReadAll(io.LimitReader(r, limit))
}

// writeFile creates name, writes b, syncs and closes it, checking every
// step: a file that is renamed into place must be whole.
func writeFile(f fsys.FS, name string, b []byte) error {
	w, err := f.Create(name)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		w.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := w.Sync(); err != nil {
		w.Close()
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	return nil
}

// replaceFile writes a fresh name+".inflight" and moves it over name.
// Rename never replaces, so the old name is removed first; the order keeps
// one invariant for readers: at every instant either name exists or its
// inflight is complete (see readPointer). A leftover from a crash is
// repaired first: no name but a complete inflight means the crash came
// between the remove and the rename, so the rename is finished.
func replaceFile(f fsys.FS, name string, b []byte, valid func([]byte) bool) error {
	tmp := name + inflightSuffix
	if _, err := f.Stat(name); errors.Is(err, fs.ErrNotExist) {
		if old, rerr := readAll(f, tmp, maxPointer); rerr == nil && valid(old) {
			if err := f.Rename(tmp, name); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("finish an interrupted replace of %s: %w", name, err)
			}
		}
	} else if err != nil {
		return err
	}
	if err := f.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", tmp, err)
	}
	if err := writeFile(f, tmp, b); err != nil {
		return err
	}
	if err := f.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove old %s: %w", name, err)
	}
	if err := f.Rename(tmp, name); err != nil {
		return fmt.Errorf("rename %s into place: %w", tmp, err)
	}
	return nil
}

func encodePointer(p *pointer, now time.Time) []byte {
	p.Format = FormatVersion
	p.WrittenMs = now.UnixMilli()
	b, _ := json.Marshal(p) // a struct of numbers always marshals
	return append(b, '\n')
}

func validPointer(b []byte) bool { _, err := decodePointer(b); return err == nil }

// readPointer reads _last_snapshot; it returns nil, nil when there is none.
//
// While the writer replaces the pointer (replaceFile) there is a moment
// with no _last_snapshot, but then its inflight is complete: so a reader
// that misses the pointer reads the inflight, and one that misses both
// raced the final rename and tries again. thorough=false is the waiting
// reader's one-call check: it opens only the pointer and, if that is
// missing this instant, reports none (the check runs again later).
func readPointer(f fsys.FS, dir string, thorough bool) (*pointer, error) {
	name := path.Join(dir, pointerName)
	attempts := 3
	if !thorough {
		attempts = 1
	}
	for i := 0; i < attempts; i++ {
		b, err := readAll(f, name, maxPointer)
		if err == nil {
			return decodePointer(b)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("index: read %s: %w", name, err)
		}
		if !thorough {
			return nil, nil
		}
		b, err = readAll(f, name+inflightSuffix, maxPointer)
		if err == nil {
			if p, derr := decodePointer(b); derr == nil {
				return p, nil
			}
			// A partial inflight beside no pointer: the first pointer
			// ever being written, or a crash while writing it.
			return nil, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("index: read %s: %w", name+inflightSuffix, err)
		}
		if i > 0 {
			// Twice neither: no pointer at all (the rename race lasts one
			// NameNode call and was covered by the retry).
			return nil, nil
		}
	}
	return nil, nil
}
