package hive

import (
	"encoding/json"
	"fmt"
	"time"
)

// Notification is the JSON body of the webhook and the value of the Kafka
// notification record. Fields are only ever added, never renamed: schedulers
// parse it.
type Notification struct {
	// Event is "partition_committed", or "partition_updated" when late data
	// was appended to a committed partition.
	Event     string            `json:"event"`
	Database  string            `json:"database"`
	Table     string            `json:"table"`
	Partition map[string]string `json:"partition"`
	// PartitionPath keeps the key order: "log_date=20261121/log_hour=13".
	PartitionPath string    `json:"partition_path"`
	Location      string    `json:"location"`
	NumFiles      int64     `json:"num_files"`
	NumRows       int64     `json:"num_rows"`
	TotalSize     int64     `json:"total_size"`
	Watermark     time.Time `json:"watermark"`
	CommitTime    time.Time `json:"commit_time"`
	Update        bool      `json:"update"`
	// IdempotencyKey is Partition.Key: the same for every delivery of the
	// same commit, so a receiver drops repeats by it.
	IdempotencyKey string `json:"idempotency_key"`
}

// Notification events.
const (
	EventCommitted = "partition_committed"
	EventUpdated   = "partition_updated"
)

// NewNotification builds the notification of a commit.
func NewNotification(p Partition) Notification {
	n := Notification{
		Event:          EventCommitted,
		Database:       p.Database,
		Table:          p.Table,
		Partition:      make(map[string]string, len(p.Keys)),
		PartitionPath:  p.Path,
		Location:       p.Location,
		NumFiles:       p.NumFiles,
		NumRows:        p.NumRows,
		TotalSize:      p.TotalSize,
		Watermark:      p.Watermark.UTC(),
		CommitTime:     p.CommitTime.UTC(),
		Update:         p.Update,
		IdempotencyKey: p.Key,
	}
	if p.Update {
		n.Event = EventUpdated
	}
	for i, k := range p.Keys {
		if i < len(p.Values) {
			n.Partition[k] = p.Values[i]
		}
	}
	return n
}

func encodeNotification(p Partition) ([]byte, error) {
	if p.Key == "" {
		return nil, Permanent(fmt.Errorf("hive: notify %s: empty idempotency key; the committer must set Partition.Key", p.Spec()))
	}
	b, err := json.Marshal(NewNotification(p))
	if err != nil {
		return nil, fmt.Errorf("hive: encode notification of %s: %w", p.Spec(), err)
	}
	return b, nil
}
