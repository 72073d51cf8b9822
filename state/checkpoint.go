package state

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Version is the encoding version of Checkpoint. Decode refuses newer
// versions rather than silently dropping fields an upgraded process wrote.
const Version = 1

// Checkpoint is everything landfall needs to resume exactly where the last
// durable checkpoint left off.
type Checkpoint struct {
	Version int    `json:"v"`
	Seq     uint64 `json:"seq"`
	// Offsets is the next offset to consume, per Kafka partition.
	Offsets map[int32]int64 `json:"offsets"`
	// MaxEventTime is the largest event time (Unix ms) seen per Kafka partition.
	MaxEventTime map[int32]int64 `json:"max_event_ms,omitempty"`
	// Watermark (Unix ms) never goes back.
	Watermark int64 `json:"watermark_ms"`
	// CommitCursor (Unix ms) is the start of the earliest Hive partition not
	// yet committed; every partition before it is committed. Zero until the
	// first record is seen.
	CommitCursor int64 `json:"commit_cursor_ms"`
	// IdleCheckpoints counts consecutive checkpoints without any record.
	IdleCheckpoints int `json:"idle_checkpoints,omitempty"`
	// Pending files are durable and owned by this checkpoint but maybe not
	// renamed to their committed names yet; recovery finishes them.
	Pending []PendingFile `json:"pending,omitempty"`
	// Partitions holds statistics of open and recently committed partitions.
	Partitions map[string]*Partition `json:"partitions,omitempty"`
	// Commits is the partition-commit queue, oldest first.
	Commits []Commit `json:"commits,omitempty"`
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
	// Commits counts commits queued for this partition (1, then 2, 3… for
	// updates after late data); it makes commit keys unique.
	Commits int `json:"commits,omitempty"`
	// Offsets is the [first, last] Kafka offset per Kafka partition of the
	// records in the partition's files.
	Offsets map[int32][2]int64 `json:"offsets,omitempty"`
}

// Commit is a queued partition commit: the steps (metastore, _SUCCESS,
// notify) run in order; Done of them have succeeded.
type Commit struct {
	Partition string             `json:"partition"`
	Key       string             `json:"key"`
	Seq       int                `json:"seq"` // 1, then 2, 3… for updates of the same partition
	Update    bool               `json:"update,omitempty"`
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

// Decode parses a checkpoint written by Encode.
func Decode(b []byte) (*Checkpoint, error) {
	var cp Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if cp.Version < 1 || cp.Version > Version {
		return nil, fmt.Errorf("%w: version %d, this build reads up to %d", ErrCorrupt, cp.Version, Version)
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
