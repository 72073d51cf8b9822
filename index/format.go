package index

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// FormatVersion is the major version of the on-disk format this build
// writes and reads. New optional fields and new action kinds do not change
// it (readers ignore what they don't know); anything an old reader would
// misread does, and such a reader refuses the file with ErrNewerFormat.
const FormatVersion = 1

// Limits of the decoder. They bound what a corrupt or hostile file can make
// a reader allocate: a line longer than maxLine, or a header that declares
// more actions than the limit, is an error before anything is allocated
// for it.
const (
	// maxLine bounds one JSON line. An add with offsets of 10,000 Kafka
	// partitions is about 300 KiB.
	maxLine = 4 << 20
	// maxEntryActions bounds one entry: a checkpoint rolls one file per
	// open partition, and a budgeted process has at most tens of thousands.
	maxEntryActions = 1 << 20
	// maxSnapshotActions bounds one snapshot: the live files of a table
	// and its latest completions.
	maxSnapshotActions = 1 << 26
	// preallocActions caps what a declared count preallocates, so that a
	// header's lie costs nothing until lines actually arrive.
	preallocActions = 1024
)

// Sentinel errors. Callers test them with errors.Is; each is wrapped with
// what was being done and the file it concerns.
var (
	// ErrCorrupt: a file of the index could not be decoded (truncated,
	// not JSON, a count that disagrees, a field out of range). A published
	// file is never rewritten, so retrying does not help: stop and report.
	ErrCorrupt = errors.New("index: corrupt")
	// ErrNewerFormat: the file was written in a format major version newer
	// than this reader; upgrade the reader rather than guess.
	ErrNewerFormat = errors.New("index: newer format version")
	// ErrCursorExpired: the entries after the cursor were deleted by
	// expiry (the reader lagged more than the index retention). Restart
	// from "earliest" (a snapshot) and deduplicate downstream, or accept
	// the gap knowingly; the reader never skips silently.
	ErrCursorExpired = errors.New("index: cursor expired")
	// ErrNotWritten: Publish found neither the inflight nor the published
	// entry, so there is nothing to publish; the caller must write the
	// entry again (WriteInflight) from its durable state.
	ErrNotWritten = errors.New("index: entry not written")
	// ErrBadCursor: a cursor string that is neither "earliest", "latest"
	// nor an entry number.
	ErrBadCursor = errors.New("index: bad cursor")
)

// Entry is one published step of the log: the actions of one checkpoint
// (or of one merge), in order.
type Entry struct {
	// N is the entry's sequence number: 1, 2, 3… with no gaps.
	N uint64
	// LogID is the logid whose table this is.
	LogID string
	// Checkpoint is the landfall checkpoint whose durable state promised
	// these actions.
	Checkpoint uint64
	// CommitTime is when the writer made the entry (millisecond precision).
	CommitTime time.Time
	Actions    []Action
	// Snapshot marks the synthetic entry a reader starting at "earliest"
	// is handed first: the live files and latest completions as of entry
	// N, all to be read; the entries after it follow.
	Snapshot bool
	// Unknown counts actions of kinds this build doesn't know, which were
	// skipped (a newer writer's additions; see FORMAT.md).
	Unknown int
}

// Action is one line of an entry: exactly one of its fields is set.
type Action struct {
	Add               *File              `json:"add,omitempty"`
	Remove            *File              `json:"remove,omitempty"`
	PartitionComplete *PartitionComplete `json:"partition_complete,omitempty"`
}

// File describes a data file of the table, added or removed.
type File struct {
	// Path is relative to the table root, slash-separated.
	Path string `json:"path"`
	// Partition is the Hive partition path (log_date=…/log_hour=…) or a
	// sink area (_invalid, _late/log_date=…/…).
	Partition string `json:"partition"`
	Size      int64  `json:"size"`
	Rows      int64  `json:"rows"`
	// Offsets is the [first, last] Kafka offset per Kafka partition of the
	// file's records.
	Offsets map[int32][2]int64 `json:"kafka_offsets,omitempty"`
	// EventMin and EventMax bound the records' event times, Unix ms; both
	// zero when unknown (the invalid sink).
	EventMin int64 `json:"event_min_ms,omitempty"`
	EventMax int64 `json:"event_max_ms,omitempty"`
	// Format is the writer's format name: text, lzo, orc.
	Format string `json:"format,omitempty"`
	// Sidecars are suffixes of companion files committed with this one
	// (".index" of an lzop file): Path+suffix.
	Sidecars []string `json:"sidecars,omitempty"`
	// DataChange is true when the action changes the table's records (new
	// records landed, or a retention delete), and false for a rewrite that
	// keeps them (a merge): incremental readers skip actions with it off
	// and so never read a record twice.
	DataChange bool `json:"data_change"`
	// Merge names the merge a rewrite belongs to; the merge's removes and
	// add carry the same name, in one entry.
	Merge string `json:"merge,omitempty"`
}

// PartitionComplete announces that a Hive partition was committed (or
// re-committed after late data), with its totals at that commit.
type PartitionComplete struct {
	Partition string `json:"partition"`
	Files     int64  `json:"files"`
	// Rows is -1 when the commit recounted from files and did not count rows.
	Rows      int64 `json:"rows"`
	Bytes     int64 `json:"bytes"`
	Watermark int64 `json:"watermark_ms"`
	// CommitKey is unique per commit of the logid: what a scheduler
	// deduplicates notifications by.
	CommitKey string `json:"commit_key"`
	// Update is set on a re-commit after late data.
	Update bool `json:"update,omitempty"`
}

// header is the first line of an entry ({"entry":…}) or a snapshot
// ({"snapshot":…}).
type header struct {
	Format     int    `json:"format"`
	LogID      string `json:"logid"`
	N          uint64 `json:"n"`
	Checkpoint uint64 `json:"checkpoint"`
	CommitMs   int64  `json:"commit_ms"`
	// Actions counts the lines after the header, unknown kinds included:
	// a file cut at a line boundary is detected by the count.
	Actions int    `json:"actions"`
	Writer  string `json:"writer,omitempty"`
}

type headerLine struct {
	Entry    *header `json:"entry,omitempty"`
	Snapshot *header `json:"snapshot,omitempty"`
}

// Writer names the software in every header (the pipeline may set it to
// "landfall <version>"); readers only show it.
var Writer = "landfall"

// kind of file: an entry or a snapshot, which differ in their header key
// and limits.
type kind int

const (
	kindEntry kind = iota
	kindSnapshot
)

func (k kind) String() string {
	if k == kindSnapshot {
		return "snapshot"
	}
	return "entry"
}

// encode writes e as JSON lines.
func encode(e *Entry, k kind) ([]byte, error) {
	var buf bytes.Buffer
	h := &header{Format: FormatVersion, LogID: e.LogID, N: e.N, Checkpoint: e.Checkpoint,
		CommitMs: e.CommitTime.UnixMilli(), Actions: len(e.Actions), Writer: Writer}
	hl := headerLine{Entry: h}
	if k == kindSnapshot {
		hl = headerLine{Snapshot: h}
	}
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(hl); err != nil {
		return nil, err
	}
	for i := range e.Actions {
		a := &e.Actions[i]
		if err := a.validate(); err != nil {
			return nil, fmt.Errorf("action %d: %w", i, err)
		}
		if err := enc.Encode(a); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// DecodeEntry reads a published entry. Corrupt or truncated input gives an
// error wrapping ErrCorrupt, a newer major version ErrNewerFormat; neither
// allocates more than a bounded multiple of the input.
func DecodeEntry(r io.Reader) (*Entry, error) { return decode(r, kindEntry) }

// DecodeSnapshot reads a snapshot file, like DecodeEntry.
func DecodeSnapshot(r io.Reader) (*Entry, error) { return decode(r, kindSnapshot) }

func decode(r io.Reader, k kind) (*Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, scanErr(err)
		}
		return nil, fmt.Errorf("%w: empty %s", ErrCorrupt, k)
	}
	var hl headerLine
	if err := json.Unmarshal(sc.Bytes(), &hl); err != nil {
		return nil, fmt.Errorf("%w: %s header: %v", ErrCorrupt, k, err)
	}
	h, limit := hl.Entry, maxEntryActions
	if k == kindSnapshot {
		h, limit = hl.Snapshot, maxSnapshotActions
	}
	switch {
	case h == nil:
		return nil, fmt.Errorf("%w: first line is not a %s header", ErrCorrupt, k)
	case h.Format > FormatVersion:
		return nil, fmt.Errorf("%w: %s %d is format %d, this build reads up to %d: upgrade the reader",
			ErrNewerFormat, k, h.N, h.Format, FormatVersion)
	case h.Format < 1:
		return nil, fmt.Errorf("%w: %s header format %d", ErrCorrupt, k, h.Format)
	case h.Actions < 0 || h.Actions > limit:
		return nil, fmt.Errorf("%w: %s %d declares %d actions (limit %d)", ErrCorrupt, k, h.N, h.Actions, limit)
	}
	e := &Entry{N: h.N, LogID: h.LogID, Checkpoint: h.Checkpoint, CommitTime: time.UnixMilli(h.CommitMs).UTC(),
		Actions: make([]Action, 0, min(h.Actions, preallocActions)), Snapshot: k == kindSnapshot}
	lines := 0
	for sc.Scan() {
		lines++
		if lines > h.Actions {
			return nil, fmt.Errorf("%w: %s %d has more than the %d actions its header declares", ErrCorrupt, k, h.N, h.Actions)
		}
		line := sc.Bytes()
		var a Action
		if err := json.Unmarshal(line, &a); err != nil {
			return nil, fmt.Errorf("%w: %s %d line %d: %v", ErrCorrupt, k, h.N, lines+1, err)
		}
		if a.Add == nil && a.Remove == nil && a.PartitionComplete == nil {
			// Forward compatibility: an action kind from a newer writer.
			// It must still be a JSON object, or the file is damaged.
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(line, &obj); err != nil || len(obj) == 0 {
				return nil, fmt.Errorf("%w: %s %d line %d: not an action object", ErrCorrupt, k, h.N, lines+1)
			}
			e.Unknown++
			continue
		}
		if err := a.validate(); err != nil {
			return nil, fmt.Errorf("%w: %s %d line %d: %v", ErrCorrupt, k, h.N, lines+1, err)
		}
		e.Actions = append(e.Actions, a)
	}
	if err := sc.Err(); err != nil {
		return nil, scanErr(err)
	}
	if lines != h.Actions {
		return nil, fmt.Errorf("%w: %s %d is truncated: %d of %d actions", ErrCorrupt, k, h.N, lines, h.Actions)
	}
	return e, nil
}

func scanErr(err error) error {
	if errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("%w: a line is longer than %d bytes", ErrCorrupt, maxLine)
	}
	return fmt.Errorf("index: read: %w", err)
}

// validate checks what a reader relies on: one kind per line, and paths
// that stay inside the table (a corrupt index must not send a reader to
// open /etc/passwd or ../other_table).
func (a *Action) validate() error {
	n := 0
	for _, set := range []bool{a.Add != nil, a.Remove != nil, a.PartitionComplete != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("want one action kind per line, got %d", n)
	}
	if f := a.file(); f != nil {
		if err := checkRel("path", f.Path); err != nil {
			return err
		}
		if f.Partition != "" {
			if err := checkRel("partition", f.Partition); err != nil {
				return err
			}
		}
		if f.Size < 0 || f.Rows < 0 {
			return fmt.Errorf("file %s: negative size or rows", f.Path)
		}
		for p, r := range f.Offsets {
			if p < 0 || r[0] < 0 || r[0] > r[1] {
				return fmt.Errorf("file %s: bad offset range %d:[%d,%d]", f.Path, p, r[0], r[1])
			}
		}
		for _, s := range f.Sidecars {
			if s == "" || strings.Contains(s, "/") {
				return fmt.Errorf("file %s: bad sidecar suffix %q", f.Path, s)
			}
		}
		return nil
	}
	pc := a.PartitionComplete
	if err := checkRel("partition", pc.Partition); err != nil {
		return err
	}
	if pc.Files < 0 || pc.Bytes < 0 || pc.Rows < -1 {
		return fmt.Errorf("partition_complete %s: negative totals", pc.Partition)
	}
	return nil
}

func (a *Action) file() *File {
	if a.Add != nil {
		return a.Add
	}
	return a.Remove
}

func checkRel(what, p string) error {
	if p == "" || p == "." || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("%s %q: want a clean path relative to the table root", what, p)
	}
	return nil
}
