package hive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"time"

	hms "github.com/beltran/gohive/hive_metastore"
)

// Partition parameters that landfall writes besides Hive's statistics.
// Schedulers may read them; landfall reads commit_time back to keep a
// replayed old commit from overwriting a newer one.
const (
	ParamCommitTime = "landfall.commit_time"
	ParamWatermark  = "landfall.watermark"
	ParamOffsets    = "landfall.offsets"
	ParamCommitKey  = "landfall.commit_key"
	ParamCommitSeq  = "landfall.commit_seq"
)

// Metastore is the commit step that registers the partition in the Hive
// metastore with its statistics. It is idempotent: a partition that exists
// already (from an earlier try of the same commit, an earlier commit before
// late data, or an operator's MSCK REPAIR) is altered instead.
type Metastore struct {
	c   *Client
	log *slog.Logger
}

// NewMetastore returns the metastore step on client c.
func NewMetastore(c *Client, opts ...Option) *Metastore {
	o := buildOptions(opts)
	return &Metastore{c: c, log: o.log}
}

// Name implements Step.
func (m *Metastore) Name() string { return StepMetastore }

// Commit implements Step.
func (m *Metastore) Commit(ctx context.Context, p Partition) error {
	spec := p.Spec()
	t, err := m.c.GetTable(ctx, p.Database, p.Table)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Permanent(fmt.Errorf("hive: register partition %s: %w; was the table dropped?", spec, err))
		}
		return fmt.Errorf("hive: register partition %s: %w", spec, err)
	}
	if len(t.PartitionKeys) != len(p.Values) || len(p.Keys) != len(p.Values) {
		return Permanent(fmt.Errorf("hive: register partition %s: table %s.%s has %d partition keys, the commit has %d values",
			spec, p.Database, p.Table, len(t.PartitionKeys), len(p.Values)))
	}
	for i, k := range t.PartitionKeys {
		if !strings.EqualFold(k.Name, p.Keys[i]) {
			return Permanent(fmt.Errorf("hive: register partition %s: table key %d is %q, the commit has %q; check the partition pattern against the table",
				spec, i, k.Name, p.Keys[i]))
		}
	}
	want, err := m.partition(t, p)
	if err != nil {
		return err
	}

	added, err := m.c.addPartition(ctx, want)
	if err == nil {
		m.log.Info("hive partition added", "hive_partition", spec, "num_files", p.NumFiles, "num_rows", p.NumRows, "commit_key", p.Key)
		// Hive 4 lists a partition directory that exists already when the
		// partition is added and overwrites numFiles and totalSize with what
		// it finds, DO_NOT_UPDATE_STATS or not; landfall's directory always
		// exists by then. Its count includes sidecars and misses nothing
		// landfall knows better, so landfall's totals are put back with an
		// alter, which does honour DO_NOT_UPDATE_STATS.
		if added == nil || !sameStats(added.Parameters, want.Parameters) {
			if err := m.c.alterPartition(ctx, want); err != nil {
				return fmt.Errorf("hive: restore statistics of added partition %s: %w", spec, err)
			}
			m.log.Debug("hive partition statistics restored after the metastore recomputed them", "hive_partition", spec)
		}
		return nil
	}
	if !errors.Is(err, ErrAlreadyExists) {
		return fmt.Errorf("hive: add partition %s: %w", spec, err)
	}

	// The partition exists: an earlier try of this commit got through but
	// its reply was lost, late data is being announced, or someone else
	// created it. Alter it, keeping parameters landfall does not own.
	have, err := m.c.GetPartition(ctx, p.Database, p.Table, p.Values)
	if err != nil {
		// It existed a moment ago: a concurrent drop is rare enough to
		// retry like any other failure.
		return fmt.Errorf("hive: read existing partition %s: %w", spec, err)
	}
	if newer(have.Parameters, p) {
		m.log.Info("hive partition has a newer commit, leaving it", "hive_partition", spec,
			"commit_key", p.Key, "existing_commit_key", have.Parameters[ParamCommitKey])
		return nil
	}
	merged := maps.Clone(have.Parameters)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, want.Parameters)
	if p.NumRows < 0 {
		delete(merged, "numRows")
		delete(merged, "COLUMN_STATS_ACCURATE")
	}
	have.Parameters = merged
	have.Sd = want.Sd
	if err := m.c.alterPartition(ctx, have); err != nil {
		return fmt.Errorf("hive: alter partition %s: %w", spec, err)
	}
	m.log.Info("hive partition altered", "hive_partition", spec, "update", p.Update,
		"num_files", p.NumFiles, "num_rows", p.NumRows, "commit_key", p.Key)
	return nil
}

// sameStats reports whether the statistics landfall sets are in have as in
// want.
func sameStats(have, want map[string]string) bool {
	for _, k := range []string{"numFiles", "totalSize", "numRows", "COLUMN_STATS_ACCURATE"} {
		if have[k] != want[k] {
			return false
		}
	}
	return true
}

// newer reports whether the partition's parameters come from a later commit
// than p, so that a replay of an old commit (after a crash, or a queue entry
// retried after a newer one) never rolls the statistics back.
func newer(params map[string]string, p Partition) bool {
	if params[ParamCommitKey] == p.Key {
		return false
	}
	if p.Seq > 0 {
		seq, err := strconv.ParseInt(params[ParamCommitSeq], 10, 64)
		return err == nil && seq > p.Seq
	}
	t, err := time.Parse(time.RFC3339Nano, params[ParamCommitTime])
	return err == nil && t.After(p.CommitTime)
}

// partition builds the metastore object: the table's storage descriptor
// (columns, formats, serde) with the partition's location, so that the
// partition reads like the table reads at commit time.
func (m *Metastore) partition(t *hms.Table, p Partition) (*hms.Partition, error) {
	if t.Sd == nil {
		return nil, Permanent(fmt.Errorf("hive: register partition %s: table %s.%s has no storage descriptor", p.Spec(), p.Database, p.Table))
	}
	sd := *t.Sd
	sd.Location = p.location(t.Sd.Location)
	if sd.Location == "" {
		return nil, Permanent(fmt.Errorf("hive: register partition %s: no location (table %s.%s has none either)", p.Spec(), p.Database, p.Table))
	}
	sd.Parameters = maps.Clone(t.Sd.Parameters)
	params, err := p.Parameters()
	if err != nil {
		return nil, err
	}
	return &hms.Partition{
		Values:     p.Values,
		DbName:     t.DbName,
		TableName:  t.TableName,
		CreateTime: int32(p.CommitTime.Unix()),
		Sd:         &sd,
		Parameters: params,
	}, nil
}

// Spec is the partition's name as Hive prints it: "k1=v1/k2=v2".
func (p Partition) Spec() string {
	if p.Path != "" {
		return p.Database + "." + p.Table + "/" + p.Path
	}
	parts := make([]string, len(p.Keys))
	for i, k := range p.Keys {
		v := ""
		if i < len(p.Values) {
			v = p.Values[i]
		}
		parts[i] = k + "=" + v
	}
	return p.Database + "." + p.Table + "/" + strings.Join(parts, "/")
}

func (p Partition) location(tableLocation string) string {
	if p.Location != "" {
		return p.Location
	}
	if tableLocation == "" || p.Path == "" {
		return ""
	}
	return strings.TrimSuffix(tableLocation, "/") + "/" + p.Path
}

// Parameters are the partition parameters landfall sets: Hive's basic
// statistics and landfall's own. COLUMN_STATS_ACCURATE says the basic
// statistics are exact, which lets Hive answer count(*) from them: true
// because landfall counted every row it wrote into the partition's files.
// With NumRows < 0 (unknown) neither numRows nor that flag is set.
func (p Partition) Parameters() (map[string]string, error) {
	offsets, err := p.offsetsJSON()
	if err != nil {
		return nil, err
	}
	params := map[string]string{
		"numFiles":        strconv.FormatInt(p.NumFiles, 10),
		"totalSize":       strconv.FormatInt(p.TotalSize, 10),
		ParamCommitTime:   p.CommitTime.UTC().Format(time.RFC3339Nano),
		ParamWatermark:    p.Watermark.UTC().Format(time.RFC3339Nano),
		ParamOffsets:      offsets,
		ParamCommitKey:    p.Key,
		"STATS_GENERATED": "TASK",
	}
	if p.Seq > 0 {
		params[ParamCommitSeq] = strconv.FormatInt(p.Seq, 10)
	}
	if p.NumRows >= 0 {
		params["numRows"] = strconv.FormatInt(p.NumRows, 10)
		params["COLUMN_STATS_ACCURATE"] = `{"BASIC_STATS":"true"}`
	}
	return params, nil
}

// offsetsJSON encodes Offsets as {"0":[first,last],...}; JSON object keys are
// sorted by encoding/json, so equal offsets give equal parameters.
func (p Partition) offsetsJSON() (string, error) {
	m := make(map[string][2]int64, len(p.Offsets))
	for k, v := range p.Offsets {
		m[strconv.Itoa(int(k))] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("hive: encode offsets of %s: %w", p.Spec(), err)
	}
	return string(b), nil
}
