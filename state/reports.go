package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Reports carry a worker's rolls to the leader (the Store's owner), which
// alone writes checkpoints. Exactly once rests on four rules:
//
//  1. A worker writes a report only while it owns every partition in it
//     (the write is conditioned on Holds).
//  2. A report lives under its worker's lease, like the worker's claims:
//     when the worker dies its claims and its unaccepted reports vanish in
//     one step, so the next owner of a partition, which can claim it only
//     after that, resumes from the leader's checkpoint, final for it then.
//  3. The leader accepts a report in the transaction that writes its
//     checkpoint head, only if the report still exists unchanged
//     (ModRevision), and deletes it there.
//  4. Fold refuses a report whose range doesn't start where the
//     checkpoint stands: a gap or a repeat is a bug, not data.
//
// Hence a worker releases a partition only once the leader's checkpoint
// has reached the end of everything it reported for it (Peek): released
// earlier, the next owner would resume from an older offset while the
// report still waits, and Fold would refuse one of the two as a repeat.

// ErrReportGone means a report the leader meant to accept vanished (its
// worker died: its lease took it) or changed before the checkpoint was
// written. Nothing was written; the leader rebuilds the checkpoint from
// the last durable one without that report and saves again. The files the
// report named belong to nobody and are the next sweep's garbage.
var ErrReportGone = errors.New("state: report gone")

// reportVersion is the encoding version of Report; decoding refuses newer
// ones rather than drop what an upgraded worker wrote.
const reportVersion = 1

// Report is what a worker made durable of its partitions since its last
// report: the files it rolled and synced, and the offsets they account
// for.
type Report struct {
	Version int `json:"v"`
	// Seq orders one worker's reports; the caller increases it with every
	// report. Two reports of one worker never share a Seq (the second is
	// refused).
	Seq uint64 `json:"seq"`
	// Ranges are, per Kafka partition, the offsets [From, To) the report
	// accounts for: held by its files, or consumed and skipped (invalid,
	// empty). A partition's ranges, report after report, must be
	// contiguous (Fold).
	Ranges map[int32]OffsetRange `json:"ranges"`
	// MaxEventTime is the largest event time (Unix ms) seen per Kafka
	// partition in Ranges.
	MaxEventTime map[int32]int64 `json:"max_event_ms,omitempty"`
	// Files are synced part files at their staging names.
	Files []PendingFile `json:"files,omitempty"`
	// Partitions is what Files add to each Hive partition.
	Partitions map[string]PartitionDelta `json:"partitions,omitempty"`

	// Filled by Reports: the report's key and ModRevision, and the lease
	// of the worker that wrote it.
	key   string
	rev   int64
	lease clientv3.LeaseID
}

// OffsetRange is the offsets [From, To) of one Kafka partition.
type OffsetRange struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// PartitionDelta is what one report adds to a Hive partition. Start and
// End travel with it because the worker computed the partition from event
// time and knows its bounds, so Fold can create the leader's entry whole;
// whether a new entry is late (Committed, Recount) the leader decides from
// its commit cursor, as it does for its own rolls.
type PartitionDelta struct {
	Start int64 `json:"start_ms"`
	End   int64 `json:"end_ms"`
	Files int64 `json:"files"`
	Rows  int64 `json:"rows"`
	Bytes int64 `json:"bytes"`
	// Offsets is the [first, last] offset per Kafka partition of the
	// records the report's files add, like Partition.Offsets.
	Offsets map[int32][2]int64 `json:"offsets,omitempty"`
}

// Key is the report's etcd key, once read by Reports.
func (r *Report) Key() string { return r.key }

// Worker is the lease of the worker that wrote the report, once read by
// Reports.
func (r *Report) Worker() clientv3.LeaseID { return r.lease }

func (l layout) reports() string { return l.base + "/report/" }
func (l layout) report(id clientv3.LeaseID, seq uint64) string {
	return fmt.Sprintf("%s%s/%020d", l.reports(), leaseValue(id), seq)
}

// parts returns the Kafka partitions of r's ranges, sorted.
func (r *Report) parts() []int32 { return slices.Sorted(maps.Keys(r.Ranges)) }

// validate says what is wrong with r, if anything: what a worker may not
// send and the leader may not fold.
func (r *Report) validate() error {
	if len(r.Ranges) == 0 {
		return errors.New("no offset ranges")
	}
	for p, rg := range r.Ranges {
		if p < 0 || rg.From < 0 || rg.To <= rg.From {
			return fmt.Errorf("partition %d: range [%d, %d)", p, rg.From, rg.To)
		}
	}
	for p := range r.MaxEventTime {
		if _, ok := r.Ranges[p]; !ok {
			return fmt.Errorf("event time for partition %d, which has no range", p)
		}
	}
	for i, f := range r.Files {
		if f.Staging == "" || f.Final == "" || f.Partition == "" || f.Size < 0 || f.Rows < 0 {
			return fmt.Errorf("file %d incomplete", i)
		}
	}
	for k, d := range r.Partitions {
		if k == "" || d.End <= d.Start || d.Files < 0 || d.Rows < 0 || d.Bytes < 0 {
			return fmt.Errorf("hive partition %q: bounds [%d, %d), %d files, %d rows, %d bytes", k, d.Start, d.End, d.Files, d.Rows, d.Bytes)
		}
		for p, o := range d.Offsets {
			rg, ok := r.Ranges[p]
			if !ok || o[0] > o[1] || o[0] < rg.From || o[1] >= rg.To {
				return fmt.Errorf("hive partition %q: offsets %v of partition %d outside its range %v", k, o, p, rg)
			}
		}
	}
	return nil
}

// encodeReport returns r's stored value: JSON, compressed like checkpoints.
func encodeReport(r *Report) ([]byte, error) {
	r.Version = reportVersion
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("state: encode report %d: %w", r.Seq, err)
	}
	return zenc.EncodeAll(b, nil), nil
}

// decodeReport reads a stored report value, refusing with ErrCorrupt
// whatever it can't trust.
func decodeReport(v []byte) (*Report, error) {
	b, err := zdec.DecodeAll(v, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: report: %v", ErrCorrupt, err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: report: %v", ErrCorrupt, err)
	}
	if r.Version < 1 || r.Version > reportVersion {
		return nil, fmt.Errorf("%w: report version %d, this build reads up to %d", ErrCorrupt, r.Version, reportVersion)
	}
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("%w: report %d: %v", ErrCorrupt, r.Seq, err)
	}
	return &r, nil
}

// Report hands r to the leader: it is written under this worker's lease
// if and only if the worker owns every partition in r.Ranges, and wraps
// ErrNotOwner naming the lost partitions otherwise. A report must fit one
// etcd value (chunkSize compressed): a worker that rolls more between two
// reports must report more often. Retrying a Report whose outcome was
// unknown is safe: the same report found under the same key is success.
func (w *Worker) Report(ctx context.Context, r *Report) error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("state: report %d of worker %x: %w", r.Seq, int64(w.Lease()), err)
	}
	parts := r.parts()
	if len(parts)+1 > maxTxnCompares {
		return fmt.Errorf("state: report %d of worker %x covers %d partitions, one transaction checks at most %d: report fewer partitions at once", r.Seq, int64(w.Lease()), len(parts), maxTxnCompares-1)
	}
	v, err := encodeReport(r)
	if err != nil {
		return err
	}
	if len(v) > chunkSize {
		return fmt.Errorf("state: report %d of worker %x is %d bytes compressed, etcd values stay under %d: report more often (fewer files per report)", r.Seq, int64(w.Lease()), len(v), chunkSize)
	}
	k := w.keys.report(w.Lease(), r.Seq)
	cmps, err := w.Holds(parts...)
	if err != nil {
		return err
	}
	cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
	resp, err := w.cli.Txn(ctx).If(cmps...).
		Then(clientv3.OpPut(k, string(v), clientv3.WithLease(w.Lease()))).
		Else(clientv3.OpGet(k)).Commit()
	if err != nil {
		return w.etcdErr(fmt.Sprintf("write report %d", r.Seq), k, err)
	}
	if resp.Succeeded {
		return nil
	}
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
		if clientv3.LeaseID(kvs[0].Lease) == w.Lease() && bytes.Equal(kvs[0].Value, v) {
			return nil
		}
		return fmt.Errorf("state: report %d of worker %x of %s exists already, with other content: Seq must increase with every report", r.Seq, int64(w.Lease()), w.logid)
	}
	if err := w.Fence(ctx, parts...); err != nil {
		return fmt.Errorf("state: report %d: %w", r.Seq, err)
	}
	// Lost and taken back between the two transactions: still not ours
	// when it mattered.
	return fmt.Errorf("state: report %d: worker %x did not own all of partitions %v of %s: %w", r.Seq, int64(w.Lease()), parts, w.logid, ErrNotOwner)
}

// Reports reads every report of the logid waiting for the leader, sorted
// by worker, then Seq. A report it cannot decode stops it with ErrCorrupt:
// skipping one would leave its partitions stuck or, folded wrong, their
// data lost.
func (s *Store) Reports(ctx context.Context) ([]*Report, error) {
	resp, err := s.cli.Get(ctx, s.keys.reports(), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("state: read reports: %w", err)
	}
	out := make([]*Report, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		k := string(kv.Key)
		r, err := decodeReport(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("state: report %s: %w", k, err)
		}
		// The key repeats the lease and Seq: what etcd says must agree.
		lease, seq, ok := strings.Cut(strings.TrimPrefix(k, s.keys.reports()), "/")
		id, lerr := strconv.ParseInt(lease, 16, 64)
		n, serr := strconv.ParseUint(seq, 10, 64)
		if !ok || lerr != nil || serr != nil || kv.Lease == 0 || id != kv.Lease || n != r.Seq {
			return nil, fmt.Errorf("%w: report %s: lease %x, seq %d", ErrCorrupt, k, kv.Lease, r.Seq)
		}
		r.key, r.rev, r.lease = k, kv.ModRevision, clientv3.LeaseID(kv.Lease)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Report) int {
		if a.lease != b.lease {
			if a.lease < b.lease {
				return -1
			}
			return 1
		}
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	return out, nil
}

// SaveAccepting is Save that also accepts the reports folded into cp: the
// head is written, and each report deleted, in one transaction that holds
// only while this process owns the logid and every report is still there
// unchanged. A vanished or changed report wraps ErrReportGone, lost
// ownership ErrNotOwner; either way cp is not durable. At most
// maxTxnCompares-3 reports fit one checkpoint.
//
// The chunks of a large cp are written before the head; when the head
// fails they are orphans, deleted by the next successful save with the
// same or a higher Seq. Retry with the same Seq or a higher one, never a
// lower.
func (s *Store) SaveAccepting(ctx context.Context, cp *Checkpoint, accepted []*Report) error {
	// Ops in the head's transaction: put, the two deletes of bodies, one
	// delete per report; compares: ownership and one per report.
	if n := 3 + len(accepted); n > maxTxnCompares {
		return fmt.Errorf("state: checkpoint %d accepts %d reports, at most %d fit its transaction: accept fewer per checkpoint", cp.Seq, len(accepted), maxTxnCompares-3)
	}
	var cmps []clientv3.Cmp
	var ops, gets []clientv3.Op
	seen := make(map[string]bool, len(accepted))
	for _, r := range accepted {
		if r.key == "" || r.rev == 0 {
			return fmt.Errorf("state: checkpoint %d accepts report %d that Reports did not return", cp.Seq, r.Seq)
		}
		if seen[r.key] {
			return fmt.Errorf("state: checkpoint %d accepts report %s twice", cp.Seq, r.key)
		}
		seen[r.key] = true
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(r.key), "=", r.rev))
		ops = append(ops, clientv3.OpDelete(r.key))
		gets = append(gets, clientv3.OpGet(r.key, clientv3.WithKeysOnly()))
	}
	own := s.mutex.IsOwner()
	// Failed, the transaction tells why at the same revision: the
	// ownership (first), then each report.
	els := append([]clientv3.Op{clientv3.OpTxn([]clientv3.Cmp{own}, nil, nil)}, gets...)
	resp, err := s.save(ctx, cp, cmps, ops, els)
	if err != nil {
		return err
	}
	if resp.Succeeded {
		return nil
	}
	if !resp.Responses[0].GetResponseTxn().Succeeded {
		return fmt.Errorf("save checkpoint %d: %w", cp.Seq, ErrNotOwner)
	}
	var gone []string
	for i, r := range accepted {
		kvs := resp.Responses[1+i].GetResponseRange().Kvs
		switch {
		case len(kvs) == 0:
			gone = append(gone, fmt.Sprintf("%s (worker %x, seq %d) vanished", r.key, int64(r.lease), r.Seq))
		case kvs[0].ModRevision != r.rev:
			gone = append(gone, fmt.Sprintf("%s (worker %x, seq %d) changed", r.key, int64(r.lease), r.Seq))
		}
	}
	return fmt.Errorf("state: save checkpoint %d: report %s: %w", cp.Seq, strings.Join(gone, ", "), ErrReportGone)
}

// save is Save's two steps with more in the head's transaction: the
// chunks, each under the ownership condition, then the head with cmps
// added to its conditions, ops to its writes and els run when it fails.
// Beside Save's delete of every older checkpoint's chunks, the head also
// deletes chunks of its own Seq past its last, left by a failed head of
// the same Seq with more chunks, so that no orphan outlives the next
// successful head.
func (s *Store) save(ctx context.Context, cp *Checkpoint, cmps []clientv3.Cmp, ops, els []clientv3.Op) (*clientv3.TxnResponse, error) {
	cp.Epoch = s.epoch
	hv, chunks, err := encodeStored(cp)
	if err != nil {
		return nil, err
	}
	own := s.mutex.IsOwner()
	for i, c := range chunks {
		resp, err := s.cli.Txn(ctx).If(own).Then(clientv3.OpPut(s.keys.chunk(cp.Seq, i), string(c))).Commit()
		if err != nil {
			return nil, fmt.Errorf("state: save checkpoint %d chunk %d of %d: %w", cp.Seq, i+1, len(chunks), err)
		}
		if !resp.Succeeded {
			return nil, fmt.Errorf("save checkpoint %d: %w", cp.Seq, ErrNotOwner)
		}
	}
	then := append([]clientv3.Op{
		clientv3.OpPut(s.keys.head(), string(hv)),
		clientv3.OpDelete(s.keys.bodies(), clientv3.WithRange(s.keys.body(cp.Seq))),
		clientv3.OpDelete(s.keys.chunk(cp.Seq, len(chunks)), clientv3.WithRange(clientv3.GetPrefixRangeEnd(s.keys.body(cp.Seq)))),
	}, ops...)
	resp, err := s.cli.Txn(ctx).If(append([]clientv3.Cmp{own}, cmps...)...).Then(then...).Else(els...).Commit()
	if err != nil {
		return nil, fmt.Errorf("state: save checkpoint %d: %w", cp.Seq, err)
	}
	return resp, nil
}

// Fold adds r to cp: it advances cp.Offsets to the end of r's ranges,
// raises cp.MaxEventTime, appends r's files to cp.Pending and adds r's
// deltas to cp.Partitions. Each range must start at cp's offset for its
// partition; only a partition cp has no offset for yet (never made
// durable by anyone) starts where the report says, since its first owner
// starts where the consumer's reset policy put it, not necessarily at 0.
// Fold leaves cp unchanged when it refuses r.
//
// New Hive partitions get the delta's Start and End; whether they are
// late, and what commits they need, the caller decides, as for its own
// rolls.
func Fold(cp *Checkpoint, r *Report) error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("state: fold report %d of worker %x: %w", r.Seq, int64(r.lease), err)
	}
	for _, p := range r.parts() {
		rg := r.Ranges[p]
		off, ok := cp.Offsets[p]
		if !ok || rg.From == off {
			continue
		}
		what := "a gap"
		if rg.From < off {
			what = "a repeat"
		}
		return fmt.Errorf("state: fold report %d of worker %x: partition %d starts at offset %d, the checkpoint is at %d: %s", r.Seq, int64(r.lease), p, rg.From, off, what)
	}
	for k, d := range r.Partitions {
		if st := cp.Partitions[k]; st != nil && (st.Start != d.Start || st.End != d.End) {
			return fmt.Errorf("state: fold report %d of worker %x: hive partition %q spans [%d, %d) in the report, [%d, %d) in the checkpoint", r.Seq, int64(r.lease), k, d.Start, d.End, st.Start, st.End)
		}
	}
	// Nothing can fail past this point.
	if cp.Offsets == nil {
		cp.Offsets = map[int32]int64{}
	}
	for p, rg := range r.Ranges {
		cp.Offsets[p] = rg.To
	}
	for p, t := range r.MaxEventTime {
		if cp.MaxEventTime == nil {
			cp.MaxEventTime = map[int32]int64{}
		}
		if cur, ok := cp.MaxEventTime[p]; !ok || t > cur {
			cp.MaxEventTime[p] = t
		}
	}
	for _, f := range r.Files {
		f.Sidecars = slices.Clone(f.Sidecars)
		cp.Pending = append(cp.Pending, f)
	}
	for k, d := range r.Partitions {
		if cp.Partitions == nil {
			cp.Partitions = map[string]*Partition{}
		}
		st := cp.Partitions[k]
		if st == nil {
			st = &Partition{Start: d.Start, End: d.End}
			cp.Partitions[k] = st
		}
		st.Files += d.Files
		st.Rows += d.Rows
		st.Bytes += d.Bytes
		for p, o := range d.Offsets {
			if st.Offsets == nil {
				st.Offsets = map[int32][2]int64{}
			}
			if cur, ok := st.Offsets[p]; ok {
				o = [2]int64{min(cur[0], o[0]), max(cur[1], o[1])}
			}
			st.Offsets[p] = o
		}
	}
	return nil
}
