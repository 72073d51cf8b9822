package hive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	krb "github.com/jcmturner/gokrb5/v8/client"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/landfall/landfall/internal/security"
)

type kafkaOpt = kgo.Opt

// WithKafkaOpts adds franz-go options to the Kafka step's producer (TLS,
// SASL, client id); they come after landfall's own and may override them.
func WithKafkaOpts(opts ...kgo.Opt) Option {
	return func(o *options) { o.kafkaOpts = append(o.kafkaOpts, opts...) }
}

// WithKerberos gives the Kerberos client of landfall's kerberos block to
// the metastore client, which then authenticates with SASL GSSAPI as the
// principal of MetastoreConfig.KerberosPrincipal, and to the Kafka step's
// producer, for hive.kafka.sasl.mechanism GSSAPI. The client is the one
// HDFS uses: it logs in again from its keytab when its ticket runs out,
// so new metastore connections keep working for as long as the process
// runs (an established one needs no ticket after its negotiation). It
// stays the caller's to destroy.
func WithKerberos(kc *krb.Client) Option {
	return func(o *options) { o.kerberos = kc }
}

// Kafka is the commit step that produces the partition's Notification to a
// topic, keyed by Partition.Key so that consumers drop repeats by key and a
// compacted topic keeps one record per commit. The producer is idempotent
// (franz-go's default), so its own retries add no duplicates; a commit
// retried by the queue after a lost acknowledgement does, which the key
// lets consumers drop.
type Kafka struct {
	cfg KafkaConfig
	cl  *kgo.Client
	log *slog.Logger
}

// NewKafka returns the Kafka step with its own producer; Close releases it.
func NewKafka(cfg KafkaConfig, opts ...Option) (*Kafka, error) {
	o := buildOptions(opts)
	if errs := cfg.validate("hive.kafka", "hive.commit_steps", o.kerberos != nil); len(errs) > 0 {
		return nil, Permanent(fmt.Errorf("hive: new kafka step: %w", errors.Join(errs...)))
	}
	cfg = cfg.withDefaults()
	sec, err := security.Kafka("hive.kafka", cfg.TLS, cfg.SASL, o.kerberos, time.Now(), o.log)
	if err != nil {
		return nil, Permanent(fmt.Errorf("hive: new kafka step: %w", err))
	}
	kopts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(cfg.Timeout),
		kgo.ProducerLinger(0),
	}, append(sec, o.kafkaOpts...)...)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, Permanent(fmt.Errorf("hive: new kafka step: %w", err))
	}
	return &Kafka{cfg: cfg, cl: cl, log: o.log}, nil
}

// Name implements Step.
func (k *Kafka) Name() string { return StepKafka }

// Commit implements Step.
func (k *Kafka) Commit(ctx context.Context, p Partition) error {
	value, err := encodeNotification(p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, k.cfg.Timeout)
	defer cancel()
	rec := &kgo.Record{Topic: k.cfg.Topic, Key: []byte(p.Key), Value: value}
	if err := k.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		err = fmt.Errorf("hive: notify %s to kafka topic %s: %w", p.Spec(), k.cfg.Topic, err)
		if permanentKafka(err) {
			return Permanent(fmt.Errorf("%w; check hive.kafka.topic exists and landfall may write to it", err))
		}
		return err
	}
	k.log.Info("hive kafka notification sent", "hive_partition", p.Spec(), "topic", k.cfg.Topic,
		"partition", rec.Partition, "offset", rec.Offset, "commit_key", p.Key)
	return nil
}

func permanentKafka(err error) bool {
	for _, e := range []error{
		kerr.UnknownTopicOrPartition, kerr.InvalidTopicException, kerr.TopicAuthorizationFailed,
		kerr.ClusterAuthorizationFailed, kerr.MessageTooLarge, kerr.RecordListTooLarge,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Close flushes nothing (every Commit waits for its record) and closes the
// producer.
func (k *Kafka) Close() error {
	k.cl.Close()
	return nil
}
