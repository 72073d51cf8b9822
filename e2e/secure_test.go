//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/landfall/landfall/internal/security"
)

// secureCluster is what kafka-secure.sh and etcd-secure.sh exported: a
// SASL_SSL (SCRAM-SHA-512) broker, an etcd with client certificates and
// RBAC, the certificates both were made with, and the one logid the etcd
// role allows.
type secureCluster struct {
	kafka, etcd, certs, logid    string
	kafkaUser, kafkaPasswordFile string
	etcdPasswordFile, noRoleFile string
	caFile, certFile, keyFile    string
	strangerCA, serverKey        string
}

func secureServices(t *testing.T) secureCluster {
	t.Helper()
	certs := endpoint(t, "LANDFALL_E2E_SECURE_CERTS")
	return secureCluster{
		kafka: endpoint(t, "LANDFALL_E2E_SECURE_KAFKA"), etcd: endpoint(t, "LANDFALL_E2E_SECURE_ETCD"), certs: certs,
		logid:     endpoint(t, "LANDFALL_E2E_SECURE_ETCD_LOGID"),
		kafkaUser: endpoint(t, "LANDFALL_E2E_SECURE_KAFKA_USER"), kafkaPasswordFile: endpoint(t, "LANDFALL_E2E_SECURE_KAFKA_PASSWORD_FILE"),
		etcdPasswordFile: endpoint(t, "LANDFALL_E2E_SECURE_ETCD_PASSWORD_FILE"), noRoleFile: endpoint(t, "LANDFALL_E2E_SECURE_ETCD_NOROLE_PASSWORD_FILE"),
		caFile: filepath.Join(certs, "ca.pem"), certFile: filepath.Join(certs, "client.pem"), keyFile: filepath.Join(certs, "client-key.pem"),
		strangerCA: filepath.Join(certs, "stranger-ca.pem"), serverKey: filepath.Join(certs, "server-key.pem"),
	}
}

// kafkaOpts are the test's own clients' TLS and SASL (the same user as
// landfall's: the broker has no authorizer, only authentication).
func (sc secureCluster) kafkaOpts(t *testing.T) []kgo.Opt {
	t.Helper()
	opts, err := security.Kafka("kafka", security.TLS{CAFile: sc.caFile},
		security.SASL{Mechanism: security.MechScram512, Username: sc.kafkaUser, PasswordFile: sc.kafkaPasswordFile}, nil, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clip(opts) // each client appends its own options to these
}

// etcdConfig is the test's etcd client: the landfall user, so that what
// the test reads is what the role allows.
func (sc secureCluster) etcdConfig(t *testing.T) clientv3.Config {
	t.Helper()
	tc, err := security.TLS{CAFile: sc.caFile, CertFile: sc.certFile, KeyFile: sc.keyFile}.Client("etcd.tls", time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := security.ReadSecret("etcd.password_file", sc.etcdPasswordFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return clientv3.Config{Endpoints: []string{sc.etcd}, TLS: tc, Username: "landfall", Password: pw.Reveal(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
}

// secureYAML are the lines newTable adds under kafka: and etcd:.
type secureYAML struct{ kafka, etcd string }

func (sc secureCluster) yaml() secureYAML {
	return secureYAML{
		kafka: fmt.Sprintf("  tls:\n    ca_file: %s\n  sasl:\n    mechanism: SCRAM-SHA-512\n    username: %s\n    password_file: %s\n",
			sc.caFile, sc.kafkaUser, sc.kafkaPasswordFile),
		etcd: fmt.Sprintf("  tls:\n    ca_file: %s\n    cert_file: %s\n    key_file: %s\n  username: landfall\n  password_file: %s\n",
			sc.caFile, sc.certFile, sc.keyFile, sc.etcdPasswordFile),
	}
}

// secrets is every secret of the secured services, each as it could show
// up in a log: the passwords, and lines of the private keys' base64.
func (sc secureCluster) secrets(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range []string{sc.kafkaPasswordFile, sc.etcdPasswordFile, sc.noRoleFile,
		filepath.Join(filepath.Dir(sc.kafkaPasswordFile), "admin.password"), filepath.Join(filepath.Dir(sc.etcdPasswordFile), "root.password")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = strings.TrimSpace(string(b))
	}
	for _, f := range []string{sc.keyFile, sc.serverKey} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			if len(l) >= 40 && !strings.HasPrefix(l, "-----") {
				out[fmt.Sprintf("%s line %d", f, i+1)] = l[:40]
			}
		}
	}
	return out
}

// grepSecrets fails the test if any secret is in any of the texts.
func grepSecrets(t *testing.T, secrets map[string]string, texts map[string][]byte) {
	t.Helper()
	lines := 0
	for name, text := range texts {
		lines += bytes.Count(text, []byte("\n"))
		for what, s := range secrets {
			if bytes.Contains(text, []byte(s)) {
				t.Errorf("%s holds the secret of %s", name, what)
			}
		}
	}
	t.Logf("%d secrets looked for in %d lines of %d logs and answers: none found", len(secrets), lines, len(texts))
}

// TestSecureLandsExactlyOnce: landfall lands every record exactly once
// through the SASL_SSL broker with its state in the TLS+RBAC etcd, as a
// user whose only role is readwrite on <prefix>/<logid>/, across a kill -9
// and a restart; its metrics endpoint serves over TLS with a bearer
// token; no log line and no metrics answer holds a password or a line of
// a private key.
func TestSecureLandsExactlyOnce(t *testing.T) {
	tb := newTable(t, 3, tableConfig{secure: true})
	sc := secureServices(t)
	token := filepath.Join(tb.workdir, "metrics.token")
	if err := os.WriteFile(token, []byte("metrics-token-"+tb.name+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	serverCert := filepath.Join(sc.certs, "server.pem")
	tb.appendConfig(fmt.Sprintf("metrics:\n  listen: 127.0.0.1:19364\n  tls:\n    cert_file: %s\n    key_file: %s\n  bearer_token_file: %s\n", serverCert, sc.serverKey, token))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a := tb.start("a")
	a.waitLog(t, regexp.MustCompile(`msg=consuming`), time.Minute)
	et := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	var err error
	for range 5 {
		if et, err = tb.produce(ctx, 400, et, 500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	a.kill9()
	if et, err = tb.produce(ctx, 1000, et, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	b := tb.start("b")
	b.waitLog(t, regexp.MustCompile(`msg=consuming`), time.Minute)
	if _, err = tb.produce(ctx, 1000, et, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	tb.waitDrained(2 * time.Minute)

	// Metrics: TLS with the e2e CA, and only with the token.
	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(sc.caFile)
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	scrape := func(auth string) (int, []byte) {
		req, _ := http.NewRequest("GET", "https://127.0.0.1:19364/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("scrape metrics: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	if code, _ := scrape(""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d, want 401", code)
	}
	code, metrics := scrape("Bearer metrics-token-" + tb.name)
	if code != 200 || !bytes.Contains(metrics, []byte("landfall_committer_records_total")) {
		t.Errorf("/metrics with the token: %d %.200s", code, metrics)
	}
	b.stop(t)
	tb.verify(nil)

	texts := map[string][]byte{"/metrics": metrics}
	logs, _ := filepath.Glob(filepath.Join(tb.workdir, "*.log"))
	for _, l := range logs {
		bb, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		texts[l] = bb
	}
	secrets := sc.secrets(t)
	secrets["the metrics token"] = "metrics-token-" + tb.name
	grepSecrets(t, secrets, texts)
}

// refusedStart starts landfall with the secured table's config edited by
// edit and requires it to exit with status 1 within a minute, logging
// want, with nothing written to the warehouse and no secret in its log.
func refusedStart(t *testing.T, edit func(sc secureCluster, cfg string) string, want string) {
	refusedStartOn(t, tableConfig{secure: true}, edit, want)
}

// refusedStartOn is refusedStart on a table made with tc (secure set).
func refusedStartOn(t *testing.T, tc tableConfig, edit func(sc secureCluster, cfg string) string, want string) {
	tb := newTable(t, 1, tc)
	sc := secureServices(t)
	cfg, err := os.ReadFile(tb.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	edited := edit(sc, string(cfg))
	if edited == string(cfg) {
		t.Fatal("the edit changed nothing in the config")
	}
	if err := os.WriteFile(tb.cfgPath, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	l := tb.start("refused")
	select {
	case <-l.done:
	case <-time.After(time.Minute):
		l.kill9()
		t.Fatalf("landfall still running a minute after a start that must be refused:\n%s", logTail(l.log, 20))
	}
	took := time.Since(t0)
	log, _ := os.ReadFile(l.log)
	if l.err == nil {
		t.Fatalf("landfall exited 0; want status 1:\n%s", log)
	}
	if !strings.Contains(string(log), want) {
		t.Fatalf("the log does not say %q:\n%s", want, log)
	}
	if took > 30*time.Second {
		t.Errorf("refused after %v; want within seconds", took)
	}
	files, err := listAll(tb, "")
	if err != nil {
		t.Fatalf("list the warehouse: %v", err)
	}
	if len(files) > 0 {
		t.Errorf("a refused start wrote to the warehouse: %v", files)
	}
	grepSecrets(t, sc.secrets(t), map[string][]byte{l.log: log})
	t.Logf("refused in %v: %s", took.Round(time.Millisecond), lastLine(l.log))
}

// TestSecureWrongKafkaPassword: a password file with the wrong password.
func TestSecureWrongKafkaPassword(t *testing.T) {
	refusedStart(t, func(sc secureCluster, cfg string) string {
		wrong := filepath.Join(t.TempDir(), "wrong.password")
		if err := os.WriteFile(wrong, []byte("not-the-password\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return strings.Replace(cfg, "password_file: "+sc.kafkaPasswordFile, "password_file: "+wrong, 1)
	}, "kafka.sasl: the brokers refused the credentials")
}

// TestSecureUntrustedKafkaCertificate: a CA that did not sign the broker's
// certificate.
func TestSecureUntrustedKafkaCertificate(t *testing.T) {
	refusedStart(t, func(sc secureCluster, cfg string) string {
		return strings.Replace(cfg, "  tls:\n    ca_file: "+sc.caFile+"\n  sasl:", "  tls:\n    ca_file: "+sc.strangerCA+"\n  sasl:", 1)
	}, "kafka.tls.ca_file: the broker's certificate is not trusted")
}

// TestSecureEtcdUserWithoutRole: an etcd user that authenticates but has
// no role.
func TestSecureEtcdUserWithoutRole(t *testing.T) {
	refusedStart(t, func(sc secureCluster, cfg string) string {
		return strings.Replace(cfg, "  username: landfall\n  password_file: "+sc.etcdPasswordFile,
			"  username: norole\n  password_file: "+sc.noRoleFile, 1)
	}, "etcd.username norole: state: etcd denied access")
}

// appendConfig adds YAML lines at the end of the test's config.
func (tb *table) appendConfig(yaml string) {
	tb.t.Helper()
	f, err := os.OpenFile(tb.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(yaml)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		tb.t.Fatal(err)
	}
}

// listAll lists every file and directory under dir of the table,
// landfall's own .landfall included.
func listAll(tb *table, dir string) ([]string, error) {
	ents, err := tb.fs.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		rel := path.Join(dir, e.Name())
		out = append(out, rel)
		if e.IsDir() {
			sub, err := listAll(tb, rel)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
	}
	return out, nil
}
