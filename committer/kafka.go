package committer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Values of kafka.out_of_range.
const (
	outOfRangeEarliest = "earliest"
	outOfRangeLatest   = "latest"
	outOfRangeFail     = "fail"
)

// ErrOffsetOutOfRange means a stored Kafka offset no longer exists and
// kafka.out_of_range is fail; the error names the partition and the offsets.
var ErrOffsetOutOfRange = errors.New("committer: kafka offset out of range")

// kafkaListTimeout bounds one offset listing at a checkpoint or on a fetch
// error; past it the answer counts as unknown.
const kafkaListTimeout = 3 * time.Second

// discover looks for partitions added to the topic since connect and
// starts consuming them at their beginning: everything a new partition
// holds was written after landfall started, so "latest" never applies to
// it. A partition counts in the watermark and the stream break from the
// moment it is found. It says whether it found any, and fails if it could
// not look. advance calls it every kafka.partition_discovery_interval, and
// before any commit.
func (p *Pipeline) discover(ctx context.Context) (bool, error) {
	if p.cl == nil {
		return false, nil
	}
	p.nextDiscover = time.Now().Add(p.cfg.Kafka.PartitionDiscoveryInterval)
	topic := p.cfg.Kafka.Topic
	ctx, cancel := context.WithTimeout(ctx, kafkaListTimeout)
	defer cancel()
	// A request of its own: kadm's Metadata answers from a cache up to
	// MetadataMinAge (5 s) old, which would hide a partition created just
	// before a commit.
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, p.cl)
	if err == nil {
		err = errors.New("topic missing from metadata")
		for _, t := range resp.Topics {
			if t.Topic == nil || *t.Topic != topic {
				continue
			}
			if err = kerr.ErrorForCode(t.ErrorCode); err == nil {
				parts := make([]int32, 0, len(t.Partitions))
				for _, pt := range t.Partitions {
					parts = append(parts, pt.Partition)
				}
				return p.addPartitions(parts), nil
			}
		}
	}
	p.log.Warn("kafka partition discovery failed; trying again at a later checkpoint", "topic", topic, "err", err)
	return false, fmt.Errorf("discover partitions of %s: %w", topic, err)
}

func (p *Pipeline) addPartitions(parts []int32) bool {
	topic := p.cfg.Kafka.Topic
	add := map[int32]kgo.Offset{}
	for _, part := range parts {
		if p.parts[part] {
			continue
		}
		off := kgo.NewOffset().AtStart()
		if o, ok := p.cp.Offsets[part]; ok {
			off = kgo.NewOffset().At(o)
		}
		add[part] = off
		p.parts[part] = true
		p.log.Info("consuming new kafka partition", "topic", topic, "partition", part)
	}
	if len(add) == 0 {
		return false
	}
	p.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: add})
	return true
}

// partCaughtUp says whether partition part is known to have been consumed
// to the end of what is readable, by a listing of this checkpoint. A
// partition the listing has no answer for is not.
func (p *Pipeline) partCaughtUp(ends map[int32]offsetRange, part int32) bool {
	r, ok := ends[part]
	if !ok {
		return false
	}
	next, ok := p.cp.Offsets[part]
	if !ok {
		next = r.start // it starts at its beginning
	}
	return next >= r.end
}

// outOfRange handles a fetch that found partition part's stored offset
// gone: it lists the partition, logs what is lost or skipped at ERROR,
// counts it, and applies kafka.out_of_range. A listing that fails leaves
// the partition as it is; franz-go reports the error again at the next
// fetch and the next call tries again.
func (p *Pipeline) outOfRange(part int32) error {
	topic := p.cfg.Kafka.Topic
	ctx, cancel := context.WithTimeout(context.Background(), kafkaListTimeout)
	defer cancel()
	r, hwm, err := p.listPartition(ctx, part)
	if err != nil {
		p.log.Warn("kafka offset out of range; listing the partition failed, trying again", "topic", topic, "partition", part, "err", err)
		return nil
	}
	next, known := p.cp.Offsets[part]
	if !known {
		// Nothing consumed yet: franz-go was starting at the beginning,
		// which moved under it (retention ran). Nothing stored is lost.
		next = r.start
	}
	var reason, what string
	switch {
	case next < r.start:
		reason = "below_log_start"
		what = fmt.Sprintf("offsets [%d, %d) were deleted (retention) before landfall read them", next, r.start)
	case next > hwm:
		reason = "past_log_end"
		what = fmt.Sprintf("the stored offset %d is past the log end %d: the topic was deleted and created again, or the broker lost data", next, hwm)
	default:
		if !known {
			p.seek(part, next)
		}
		return nil // the fetch raced an earlier reset; franz-go fetches at the new offset
	}
	p.m.offsetResets.WithLabelValues(reason).Inc()
	policy := p.cfg.Kafka.OutOfRange
	if policy == outOfRangeFail {
		p.log.Error("kafka offset out of range; stopping (kafka.out_of_range: fail)", "topic", topic, "partition", part, "offset", next,
			"log_start", r.start, "log_end", r.end, "reason", reason, "detail", what)
		return fmt.Errorf("%w: topic %s partition %d: %s; kafka.out_of_range is fail: set it to earliest (resume at offset %d) or latest (resume at %d) to go on",
			ErrOffsetOutOfRange, topic, part, what, r.start, r.end)
	}
	to := r.start
	if policy == outOfRangeLatest {
		to = r.end
	}
	// What never lands: the deleted offsets below the log start, and with
	// latest what the reset jumps over.
	from := min(next, r.start)
	skipped := max(0, to-from)
	p.m.skippedOffsets.WithLabelValues(reason).Add(float64(skipped))
	p.log.Error("kafka offset out of range; resuming per kafka.out_of_range", "topic", topic, "partition", part, "offset", next,
		"log_start", r.start, "log_end", r.end, "reason", reason, "detail", what, "policy", policy, "resume_at", to,
		"skipped", fmt.Sprintf("[%d, %d)", from, from+skipped), "skipped_offsets", skipped)
	p.seek(part, to)
	return nil
}

// seek moves the consumer and the stored offset of part to off; the stored
// offset moves too, since consume drops records below it (after a topic is
// created again, all of the new log is below it).
func (p *Pipeline) seek(part int32, off int64) {
	p.cp.Offsets[part] = off
	p.mu.Lock()
	p.consumed[part] = off
	p.mu.Unlock()
	p.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{p.cfg.Kafka.Topic: {part: {Epoch: -1, Offset: off}}})
}

// listPartition lists one partition: log start, last stable offset, and
// high watermark (an offset between the last two is still valid to fetch).
func (p *Pipeline) listPartition(ctx context.Context, part int32) (offsetRange, int64, error) {
	topic := p.cfg.Kafka.Topic
	// A listing can fail for some brokers and still answer for the
	// partition: only the partition's own answer counts.
	look := func(what string, l kadm.ListedOffsets, err error) (int64, error) {
		o, ok := l.Lookup(topic, part)
		switch {
		case ok && o.Err == nil:
			return o.Offset, nil
		case ok:
			err = o.Err
		case err == nil:
			err = errors.New("no answer for the partition")
		}
		return 0, fmt.Errorf("list %s offset of partition %d: %w", what, part, err)
	}
	l, err := p.adm.ListStartOffsets(ctx, topic)
	start, err := look("start", l, err)
	if err != nil {
		return offsetRange{}, 0, err
	}
	l, err = p.adm.ListCommittedOffsets(ctx, topic)
	end, err := look("last stable", l, err)
	if err != nil {
		return offsetRange{}, 0, err
	}
	l, err = p.adm.ListEndOffsets(ctx, topic)
	hwm, err := look("end", l, err)
	if err != nil {
		return offsetRange{}, 0, err
	}
	return offsetRange{start: start, end: end}, hwm, nil
}
