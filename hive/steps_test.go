package hive_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/landfall/landfall/hive"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"gopkg.in/yaml.v3"
)

type fakeSuccess struct{ n int }

func (f *fakeSuccess) Name() string { return "success-file" }
func (f *fakeSuccess) Commit(context.Context, hive.Partition) error {
	f.n++
	return nil
}

func TestNewStepsOrderAndMetrics(t *testing.T) {
	srv, c := setup(t, hive.FormatORC)
	_, hook := newReceiver(t, 400)
	cfg := hive.Config{
		Database:    "logs",
		Table:       "clicks",
		Metastore:   hive.MetastoreConfig{URIs: []string{srv.URI()}},
		CommitSteps: []string{"metastore", "success-file", "webhook"},
		Webhook:     hive.WebhookConfig{URL: hook.URL},
	}
	reg := prometheus.NewRegistry()
	sf := &fakeSuccess{}
	steps, err := hive.NewSteps(cfg, sf, hive.WithClient(c), hive.WithRegisterer(reg), hive.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := steps.Close(); err != nil {
			t.Error(err)
		}
	}()
	var names []string
	for _, s := range steps.List {
		names = append(names, s.Name())
	}
	if strings.Join(names, ",") != "metastore,success-file,webhook" {
		t.Fatalf("steps = %v", names)
	}
	p := commit("20261121", "13", 1, 1, 1)
	for i, s := range steps.List {
		err := s.Commit(ctxT(t), p)
		if (i < 2) != (err == nil) {
			t.Errorf("step %s: %v", s.Name(), err)
		}
	}
	if sf.n != 1 {
		t.Errorf("success-file step ran %d times, want 1", sf.n)
	}
	want := `
# HELP landfall_hive_step_commits_total Partition commit step runs by step and result (ok, transient, permanent).
# TYPE landfall_hive_step_commits_total counter
landfall_hive_step_commits_total{result="ok",step="metastore"} 1
landfall_hive_step_commits_total{result="ok",step="success-file"} 1
landfall_hive_step_commits_total{result="permanent",step="webhook"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "landfall_hive_step_commits_total"); err != nil {
		t.Error(err)
	}
}

func TestNewStepsNeedsSuccessFile(t *testing.T) {
	cfg := hive.Config{Database: "d", Table: "t", Metastore: hive.MetastoreConfig{URIs: []string{"thrift://127.0.0.1:1"}}}
	_, err := hive.NewSteps(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "success-file") {
		t.Fatalf("NewSteps without the _SUCCESS step = %v", err)
	}
	// Without success-file in the list, none is needed; the metastore
	// client opened here is closed by Close.
	cfg.CommitSteps = []string{"metastore"}
	steps, err := hive.NewSteps(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := steps.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	const doc = `
database: logs
table: clicks
metastore:
  uris: [thrift://hms-a:9083, "http://hms-b:9083"]
  call_timeout: 30s
  retry: {attempts: 5, initial_backoff: 1s, max_backoff: 100ms}
commit_steps: [metastore, success-file, webhook, kafka, ftp, webhook]
webhook:
  url: ftp://x
  headers: {Idempotency-Key: x}
kafka:
  topic: ""
`
	var cfg hive.Config
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Metastore.CallTimeout.Seconds() != 30 {
		t.Errorf("call_timeout = %v", cfg.Metastore.CallTimeout)
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, key := range []string{
		"hive.commit_steps[4]: unknown step \"ftp\"",
		"hive.commit_steps[5]: step \"webhook\" listed twice",
		"hive.metastore.uris[1]:",
		"hive.metastore.retry.max_backoff:",
		"hive.webhook.url:",
		"hive.webhook.headers:",
		"hive.kafka.brokers:",
		"hive.kafka.topic:",
	} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("Validate error lacks %q:\n%v", key, err)
		}
	}
	if strings.Contains(err.Error(), "hive.metastore.uris[0]") {
		t.Errorf("valid URI reported: %v", err)
	}

	good := hive.Config{Database: "logs", Table: "clicks", Metastore: hive.MetastoreConfig{URIs: []string{"thrift://hms:9083"}}}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate(good) = %v", err)
	}
	if got := good.Steps(); strings.Join(got, ",") != "metastore,success-file" {
		t.Errorf("default steps = %v", got)
	}
	noHive := hive.Config{CommitSteps: []string{"success-file"}}
	if err := noHive.Validate(); err != nil {
		t.Errorf("Validate without a metastore = %v", err)
	}
	missing := hive.Config{}
	if err := missing.Validate(); err == nil || !strings.Contains(err.Error(), "hive.metastore.uris: empty") || !strings.Contains(err.Error(), "hive.database") {
		t.Errorf("Validate of an empty config = %v", err)
	}
}

func TestPermanentClassification(t *testing.T) {
	base := errors.New("boom")
	if hive.IsPermanent(base) || hive.IsPermanent(nil) {
		t.Error("plain error classified permanent")
	}
	p := hive.Permanent(base)
	if !hive.IsPermanent(p) || !errors.Is(p, base) || hive.Permanent(p) != p {
		t.Error("Permanent does not wrap as documented")
	}
	if !hive.IsPermanent(errors.Join(errors.New("x"), p)) {
		t.Error("joined permanent error not recognised")
	}
}
