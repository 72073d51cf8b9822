package hive

import (
	"context"
	"time"
)

// Partition is one partition commit as the committer hands it to the steps.
// The same commit may be handed over again after a crash or a failed step, so
// every step must be idempotent, and notifiers pass Key on so that their
// targets can drop a repeat.
type Partition struct {
	Database string
	Table    string
	// Keys and Values are the partition spec in order, e.g.
	// [log_date log_hour] and [20261121 13].
	Keys   []string
	Values []string
	// Path is the partition directory relative to the table root
	// ("log_date=20261121/log_hour=13"); Location is its absolute URI.
	Path     string
	Location string

	// NumFiles, NumRows and TotalSize are the partition's totals over all
	// its visible files (after compaction and late appends), not the delta
	// of this commit: the metastore step writes them as Hive's statistics.
	// NumRows < 0 means unknown; Hive's numRows is then left unset rather
	// than declared accurate.
	NumFiles  int64
	NumRows   int64
	TotalSize int64

	// Watermark is the event-time watermark that completed the partition
	// (or the processing-time clock during a stream break).
	Watermark  time.Time
	CommitTime time.Time
	// Offsets is the Kafka offset range [first, last] per Kafka partition of
	// the records in the partition's files, as far as landfall still knows it.
	Offsets map[int32][2]int64
	// Update is true when late data was appended to an already committed
	// partition and this commit announces the new totals.
	Update bool
	// Key identifies this commit (logid, partition and commit sequence). It
	// stays the same across retries and restarts of the same commit.
	Key string
	// Seq is the commit's sequence number within its partition (1 for the
	// first commit, then one more per Update), or 0 if unknown. The
	// metastore step never lets a commit with a lower Seq overwrite the
	// statistics of a higher one, whatever order retries arrive in; without
	// Seq it compares CommitTime, which only works if CommitTime is fixed
	// when the commit is queued rather than when it is tried.
	Seq int64
}

// Step is one partition-commit action: metastore registration, _SUCCESS,
// webhook, Kafka notification. Steps run in their configured order; a step
// runs only after every earlier step succeeded for that commit.
type Step interface {
	Name() string
	Commit(ctx context.Context, p Partition) error
}
