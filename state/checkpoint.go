package state

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Version is the encoding version of Checkpoint. Decode refuses newer
// versions rather than silently dropping fields an upgraded process wrote,
// and reads every older one.
//
// Version 2 adds CursorSet (version 1 used a zero cursor for "unset", so a
// first record in the first hour of 1970 wedged the logid), Epoch, and the
// partition and commit fields that late recounts need; it is stored
// compressed, in chunks when large (see Store.Save).
const Version = 2

// Checkpoint is everything landfall needs to resume exactly where the last
// durable checkpoint left off.
type Checkpoint struct {
	Version int    `json:"v"`
	Seq     uint64 `json:"seq"`
	// Epoch is the ownership epoch of the process that wrote it.
	Epoch int64 `json:"epoch,omitempty"`
	// Offsets is the next offset to consume, per Kafka partition.
	Offsets map[int32]int64 `json:"offsets"`
	// MaxEventTime is the largest event time (Unix ms) seen per Kafka partition.
	MaxEventTime map[int32]int64 `json:"max_event_ms,omitempty"`
	// Watermark (Unix ms) never goes back.
	Watermark int64 `json:"watermark_ms"`
	// CommitCursor (Unix ms) is the start of the earliest Hive partition not
	// yet committed; every partition before it is committed (or, with no
	// data and older than commit.horizon, skipped). Meaningful only when
	// CursorSet: 0 is 1970-01-01T00:00Z, a valid event time.
	CommitCursor int64 `json:"commit_cursor_ms"`
	CursorSet    bool  `json:"cursor_set,omitempty"`
	// FirstCursor (Unix ms) is where the commit cursor started: landfall
	// never committed a partition before it, so late data there makes a
	// first commit with exact totals, not a recounted update. Nil when
	// unknown (a checkpoint of version 1): every late partition recounts.
	FirstCursor *int64 `json:"first_cursor_ms,omitempty"`
	// IdleCheckpoints counts consecutive checkpoints without any record.
	IdleCheckpoints int `json:"idle_checkpoints,omitempty"`
	// Pending files are durable and owned by this checkpoint but maybe not
	// renamed to their committed names yet; recovery finishes them.
	Pending []PendingFile `json:"pending,omitempty"`
	// Partitions holds statistics of open and recently committed partitions.
	Partitions map[string]*Partition `json:"partitions,omitempty"`
	// Commits is the partition-commit queue, oldest first.
	Commits []Commit `json:"commits,omitempty"`
	// IndexNext is the number of the next file-index entry (0 before the
	// first: entries count from 1, with no gaps).
	IndexNext uint64 `json:"index_next,omitempty"`
	// IndexPending are the index entries this checkpoint promises that
	// may not be published yet, oldest first; recovery publishes them
	// once their files are renamed.
	IndexPending []IndexEntry `json:"index_pending,omitempty"`
	// Merges are small-file merges whose merged file is written (hidden)
	// and promised by this checkpoint, and whose publish and retirement of
	// the sources may not have happened yet: recovery finishes them.
	Merges []Merge `json:"merges,omitempty"`
}

// Merge is a compaction of some files of a partition into one.
type Merge struct {
	Partition string `json:"partition"`
	// Final is the merged file's committed name; until it is published it
	// sits at its hidden name beside it.
	Final    string        `json:"final"`
	Sidecars []string      `json:"sidecars,omitempty"`
	Size     int64         `json:"size"`
	Rows     int64         `json:"rows"`
	Sources  []MergeSource `json:"sources"`
}

// MergeSource is one file a merge replaces.
type MergeSource struct {
	Name     string   `json:"name"`
	Sidecars []string `json:"sidecars,omitempty"`
	// Size of the data file (0 in checkpoints written before it was kept).
	Size int64 `json:"size,omitempty"`
}

// IndexEntry names an index entry written inflight: its number, the
// checkpoint whose files it lists, and the epoch of the owner that wrote
// it (its inflight name carries it).
type IndexEntry struct {
	N          uint64 `json:"n"`
	Checkpoint uint64 `json:"checkpoint"`
	Epoch      int64  `json:"epoch"`
}

// PendingFile is a rolled part file: written, synced, not yet (known to be)
// renamed.
type PendingFile struct {
	Staging  string   `json:"staging"`
	Final    string   `json:"final"`
	Size     int64    `json:"size"`
	Rows     int64    `json:"rows"`
	Sidecars []string `json:"sidecars,omitempty"` // suffixes, e.g. ".index"
	// Partition is the Hive partition path, or a sink area (_invalid, _late/…).
	Partition string `json:"partition"`
}

// Partition is what landfall knows of one Hive partition.
type Partition struct {
	Start     int64 `json:"start_ms"`
	End       int64 `json:"end_ms"`
	Files     int64 `json:"files"`
	Rows      int64 `json:"rows"`
	Bytes     int64 `json:"bytes"`
	Committed bool  `json:"committed,omitempty"`
	// Recount: the totals were dropped (late data after late.retention),
	// so Files, Rows and Bytes count only what landed since, and every
	// commit of the partition recounts its totals from the files.
	Recount bool `json:"recount,omitempty"`
	// Commits counts commits queued for this partition (1, then 2, 3… for
	// updates after late data); it makes commit keys unique.
	Commits int `json:"commits,omitempty"`
	// Offsets is the [first, last] Kafka offset per Kafka partition of the
	// records in the partition's files not yet announced by a commit: a
	// commit takes them, so that a partition retained for late data does
	// not keep one range per Kafka partition for late.retention.
	Offsets map[int32][2]int64 `json:"offsets,omitempty"`
}

// Commit is a queued partition commit: the steps (metastore, _SUCCESS,
// notify) run in order; Done of them have succeeded.
type Commit struct {
	Partition string `json:"partition"`
	// Key is unique per commit for the logid's lifetime, also after the
	// partition's totals were dropped: logid/partition/checkpoint.
	Key string `json:"key"`
	// Seq orders the commits of a partition: the checkpoint that queued it
	// (version 1 counted 1, 2, 3… per partition, which restarted at 1 once
	// the totals were dropped).
	Seq    int  `json:"seq"`
	Update bool `json:"update,omitempty"`
	// Recount: the totals are recomputed from the partition's files when
	// the commit runs (Rows then unknown, -1).
	Recount bool `json:"recount,omitempty"`
	// Merged: the partition's merge is over and no merge may run again
	// (a step may have made the partition visible); durable before the
	// first step runs.
	Merged    bool               `json:"merged,omitempty"`
	Files     int64              `json:"files"`
	Rows      int64              `json:"rows"`
	Bytes     int64              `json:"bytes"`
	Watermark int64              `json:"watermark_ms"`
	Queued    int64              `json:"queued_ms"`
	Offsets   map[int32][2]int64 `json:"offsets,omitempty"`
	Done      int                `json:"done"`
	Attempts  int                `json:"attempts,omitempty"`
}

// Encode serializes cp with the current Version.
func Encode(cp *Checkpoint) ([]byte, error) {
	cp.Version = Version
	b, err := json.Marshal(cp)
	if err != nil {
		return nil, fmt.Errorf("state: encode checkpoint: %w", err)
	}
	return b, nil
}

// ErrCorrupt marks a checkpoint that can't be decoded. Landfall stops rather
// than guess: resuming from a wrong offset would lose or duplicate data.
var ErrCorrupt = errors.New("state: corrupt checkpoint")

// Decode parses a checkpoint written by Encode, of this version or an
// older one.
func Decode(b []byte) (*Checkpoint, error) {
	var cp Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if cp.Version < 1 || cp.Version > Version {
		return nil, fmt.Errorf("%w: version %d, this build reads up to %d", ErrCorrupt, cp.Version, Version)
	}
	if cp.Version == 1 {
		// Version 1 had no unset state: a cursor of 0 meant none.
		cp.CursorSet = cp.CommitCursor != 0
	}
	for p, o := range cp.Offsets {
		if o < 0 || p < 0 {
			return nil, fmt.Errorf("%w: offset %d for partition %d", ErrCorrupt, o, p)
		}
	}
	for i, f := range cp.Pending {
		if f.Staging == "" || f.Final == "" || f.Size < 0 || f.Rows < 0 {
			return nil, fmt.Errorf("%w: pending file %d incomplete", ErrCorrupt, i)
		}
	}
	for k, p := range cp.Partitions {
		if p == nil {
			return nil, fmt.Errorf("%w: partition %q empty", ErrCorrupt, k)
		}
	}
	for i, c := range cp.Commits {
		if c.Partition == "" || c.Done < 0 {
			return nil, fmt.Errorf("%w: commit %d incomplete", ErrCorrupt, i)
		}
	}
	return &cp, nil
}
