package hive_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	krb "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/internal/security"
	"github.com/landfall/landfall/internal/security/sectest"
)

// TestWebhookTLSClientCertificate: a receiver that requires a client
// certificate signed by its CA gets the commit from a webhook with
// hive.webhook.tls, and refuses one without the certificate.
func TestWebhookTLSClientCertificate(t *testing.T) {
	ca := sectest.NewCA(t, "ca")
	srvPair := ca.Valid(t, "localhost")
	client := ca.Valid(t, "landfall")
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	var got atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	srv.TLS = sectest.Server(t, srvPair)
	srv.TLS.ClientCAs, srv.TLS.ClientAuth = pool, tls.RequireAndVerifyClientCert
	srv.StartTLS()
	defer srv.Close()

	cfg := func(tc security.TLS) hive.WebhookConfig {
		return hive.WebhookConfig{URL: srv.URL, Timeout: 5 * time.Second, TLS: tc, Retry: hive.RetryConfig{Attempts: 1}}
	}
	w, err := hive.NewWebhook(cfg(security.TLS{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile}), hive.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctxT(t), commit("20261121", "13", 3, 1000, 4096)); err != nil || got.Load() != 1 {
		t.Fatalf("with the client certificate: %v, %d deliveries", err, got.Load())
	}
	w, err = hive.NewWebhook(cfg(security.TLS{CAFile: ca.CertFile}), hive.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctxT(t), commit("20261121", "14", 3, 1000, 4096)); err == nil || got.Load() != 1 {
		t.Fatalf("without a client certificate: %v, %d deliveries; want refused", err, got.Load())
	}
}

// TestKafkaStepSASLSSL: the notification producer takes hive.kafka.tls
// and hive.kafka.sasl and delivers through a SASL_SSL listener.
func TestKafkaStepSASLSSL(t *testing.T) {
	ca := sectest.NewCA(t, "ca")
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("notify-pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "partitions"),
		kfake.TLS(sectest.Server(t, ca.Valid(t, "localhost"))),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "notifier", "notify-pass"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	step, err := hive.NewKafka(hive.KafkaConfig{Brokers: cluster.ListenAddrs(), Topic: "partitions", Timeout: 10 * time.Second,
		TLS:  security.TLS{CAFile: ca.CertFile, ServerName: "localhost"},
		SASL: security.SASL{Mechanism: "SCRAM-SHA-256", Username: "notifier", PasswordFile: pw}},
		hive.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = step.Close() })
	if err := step.Commit(ctxT(t), commit("20261121", "13", 3, 1000, 4096)); err != nil {
		t.Fatal(err)
	}
}

// TestKafkaStepGSSAPINeedsKerberos: a GSSAPI hive.kafka.sasl builds its
// producer only with the kerberos block's client (WithKerberos), and
// without one fails naming the keys to set, through NewSteps as through
// NewKafka.
func TestKafkaStepGSSAPINeedsKerberos(t *testing.T) {
	kcfg := hive.KafkaConfig{Brokers: []string{"127.0.0.1:1"}, Topic: "n", SASL: security.SASL{Mechanism: security.MechGSSAPI}}
	cfg := hive.Config{CommitSteps: []string{hive.StepKafka}, Kafka: kcfg}
	for name, err := range map[string]error{
		"NewKafka": func() error { _, err := hive.NewKafka(kcfg); return err }(),
		"NewSteps": func() error { _, err := hive.NewSteps(cfg, nil); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), "hive.kafka.sasl.mechanism: GSSAPI needs the top-level kerberos block") || !strings.Contains(err.Error(), "kerberos.keytab") {
			t.Errorf("%s without kerberos = %v; want the keys to set", name, err)
		}
	}
	// Never logged in: building the producer doesn't talk to a KDC.
	kc := krb.NewWithKeytab("landfall", "EXAMPLE.COM", keytab.New(), krbconfig.New())
	s, err := hive.NewSteps(cfg, nil, hive.WithKerberos(kc), hive.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatalf("NewSteps with kerberos: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
