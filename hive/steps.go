package hive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Steps is the ordered list of commit steps built from hive.commit_steps,
// and the clients they own.
type Steps struct {
	List    []Step
	closers []io.Closer
}

// NewSteps builds the steps named in cfg.CommitSteps, in that order.
// successFile is the core's _SUCCESS step, used where the list says
// "success-file"; it may be nil only if the list does not name it. Each step
// is wrapped to count and time its commits.
//
// The metastore step uses the client from WithClient, or opens one that
// Close closes.
func NewSteps(cfg Config, successFile Step, opts ...Option) (*Steps, error) {
	o := buildOptions(opts)
	// WithKerberos is what a GSSAPI hive.kafka.sasl needs.
	cfg.Kerberos = cfg.Kerberos || o.kerberos != nil
	if err := cfg.Validate(); err != nil {
		return nil, Permanent(fmt.Errorf("hive: build commit steps: %w", err))
	}
	m := newStepMetrics(o.reg)
	s := &Steps{}
	for _, name := range cfg.Steps() {
		var st Step
		switch name {
		case StepMetastore:
			c := o.client
			if c == nil {
				var err error
				if c, err = NewClient(cfg.Metastore, opts...); err != nil {
					return nil, errors.Join(err, s.Close())
				}
				s.closers = append(s.closers, c)
			}
			st = NewMetastore(c, opts...)
		case StepSuccessFile:
			if successFile == nil {
				return nil, errors.Join(Permanent(errors.New("hive: build commit steps: hive.commit_steps names success-file but no _SUCCESS step was given")), s.Close())
			}
			st = successFile
		case StepWebhook:
			w, err := NewWebhook(cfg.Webhook, opts...)
			if err != nil {
				return nil, errors.Join(err, s.Close())
			}
			st = w
		case StepKafka:
			k, err := NewKafka(cfg.Kafka, opts...)
			if err != nil {
				return nil, errors.Join(err, s.Close())
			}
			s.closers = append(s.closers, k)
			st = k
		}
		s.List = append(s.List, &instrumented{Step: st, m: m})
	}
	return s, nil
}

// Close releases the clients the steps opened.
func (s *Steps) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	return errors.Join(errs...)
}

type stepMetrics struct {
	commits  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newStepMetrics(reg prometheus.Registerer) *stepMetrics {
	return &stepMetrics{
		commits: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "landfall_hive_step_commits_total",
			Help: "Partition commit step runs by step and result (ok, transient, permanent).",
		}, []string{"step", "result"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "landfall_hive_step_commit_seconds",
			Help:    "Duration of partition commit step runs, including their own retries.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 8),
		}, []string{"step"})),
	}
}

type instrumented struct {
	Step
	m *stepMetrics
}

func (s *instrumented) Commit(ctx context.Context, p Partition) error {
	start := time.Now()
	err := s.Step.Commit(ctx, p)
	s.m.duration.WithLabelValues(s.Name()).Observe(time.Since(start).Seconds())
	result := "ok"
	switch {
	case err == nil:
	case IsPermanent(err):
		result = "permanent"
	default:
		result = "transient"
	}
	s.m.commits.WithLabelValues(s.Name(), result).Inc()
	return err
}
