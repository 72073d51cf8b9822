package security_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	krb "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/landfall/landfall/internal/security"
	"github.com/landfall/landfall/internal/security/sectest"
)

// TestTLSClientRefusesBadFiles: every broken credential fails naming the
// key, the file and what to do, and never quotes the key's bytes.
func TestTLSClientRefusesBadFiles(t *testing.T) {
	ca := sectest.NewCA(t, "ca")
	other := sectest.NewCA(t, "other")
	good := ca.Valid(t, "landfall")
	otherPair := other.Valid(t, "landfall-other")
	expired := ca.Issue(t, "old", time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
	future := ca.Issue(t, "new", time.Now().Add(time.Hour), time.Now().Add(48*time.Hour))
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")

	for _, tc := range []struct {
		name string
		cfg  security.TLS
		want []string
	}{
		{"missing ca", security.TLS{CAFile: missing}, []string{"kafka.tls.ca_file", missing, "no such file"}},
		{"ca is a directory", security.TLS{CAFile: dir}, []string{"kafka.tls.ca_file", dir}},
		{"ca not PEM", security.TLS{CAFile: notPEM}, []string{"kafka.tls.ca_file", notPEM, "PEM"}},
		{"cert without key", security.TLS{CertFile: good.CertFile}, []string{"kafka.tls.key_file", "missing"}},
		{"key without cert", security.TLS{KeyFile: good.KeyFile}, []string{"kafka.tls.cert_file", "missing"}},
		{"missing key", security.TLS{CertFile: good.CertFile, KeyFile: missing}, []string{"kafka.tls.key_file", missing}},
		{"key of another cert", security.TLS{CertFile: good.CertFile, KeyFile: otherPair.KeyFile}, []string{"kafka.tls.key_file", otherPair.KeyFile, "not the private key", good.CertFile}},
		{"key file holds a cert", security.TLS{CertFile: good.CertFile, KeyFile: good.CertFile}, []string{"kafka.tls.key_file", good.CertFile}},
		{"expired cert", security.TLS{CertFile: expired.CertFile, KeyFile: expired.KeyFile}, []string{"kafka.tls.cert_file", expired.CertFile, "expired", "renew"}},
		{"cert not valid yet", security.TLS{CertFile: future.CertFile, KeyFile: future.KeyFile}, []string{"kafka.tls.cert_file", "not valid before"}},
		{"skip verify with a CA", security.TLS{CAFile: ca.CertFile, InsecureSkipVerify: true}, []string{"kafka.tls.insecure_skip_verify", "ca_file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.cfg.Client("kafka.tls", time.Now(), nil)
			if err == nil {
				t.Fatalf("Client = %+v, nil; want an error", c)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, p := range []sectest.Pair{good, otherPair, expired, future} {
				body := strings.Split(string(p.KeyPEM), "\n")[1] // the first line of base64
				if strings.Contains(err.Error(), body[:24]) {
					t.Errorf("error quotes key material: %q", err)
				}
			}
		})
	}
	// An expired CA is refused too: every server it signed would fail.
	expiredCA := sectest.NewCA(t, "ca2")
	if _, err := (security.TLS{CAFile: expiredCA.CertFile}).Client("etcd.tls", time.Now().Add(48*time.Hour), nil); err == nil || !strings.Contains(err.Error(), "etcd.tls.ca_file") || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired CA: %v", err)
	}
}

func TestTLSClientBuildsWhatWasAsked(t *testing.T) {
	ca := sectest.NewCA(t, "ca")
	p := ca.Valid(t, "landfall")
	c, err := security.TLS{CAFile: ca.CertFile, CertFile: p.CertFile, KeyFile: p.KeyFile, ServerName: "kafka1"}.Client("kafka.tls", time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.RootCAs == nil || len(c.Certificates) != 1 || c.ServerName != "kafka1" || c.InsecureSkipVerify {
		t.Fatalf("config = %+v", c)
	}
	if c, err := (security.TLS{}).Client("kafka.tls", time.Now(), nil); c != nil || err != nil {
		t.Fatalf("empty block = %v, %v; want off", c, err)
	}
	// enabled alone: system roots.
	if c, err := (security.TLS{Enabled: true}).Client("kafka.tls", time.Now(), nil); c == nil || err != nil || c.RootCAs != nil {
		t.Fatalf("enabled = %+v, %v", c, err)
	}
	// Skipping verification works only when asked, and says so at WARN.
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	c, err = security.TLS{InsecureSkipVerify: true}.Client("kafka.tls", time.Now(), log)
	if err != nil || !c.InsecureSkipVerify {
		t.Fatalf("insecure = %+v, %v", c, err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "kafka.tls.insecure_skip_verify") {
		t.Fatalf("no warning naming the key: %s", logs.String())
	}
}

func TestServerTLS(t *testing.T) {
	ca := sectest.NewCA(t, "ca")
	p := ca.Valid(t, "metrics")
	if c, err := (security.ServerTLS{CertFile: p.CertFile, KeyFile: p.KeyFile}).Server("metrics.tls", time.Now()); err != nil || len(c.Certificates) != 1 {
		t.Fatalf("Server = %v, %v", c, err)
	}
	if _, err := (security.ServerTLS{CertFile: p.CertFile}).Server("metrics.tls", time.Now()); err == nil || !strings.Contains(err.Error(), "metrics.tls.key_file") {
		t.Fatalf("cert without key: %v", err)
	}
}

func TestSASLRefusesBadBlocks(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  security.SASL
		want []string
	}{
		{"unknown mechanism", security.SASL{Mechanism: "SCRAM-SHA-1", Username: "u", PasswordFile: pw}, []string{"kafka.sasl.mechanism", "SCRAM-SHA-1", "SCRAM-SHA-512"}},
		{"gssapi without kerberos", security.SASL{Mechanism: "GSSAPI"}, []string{"kafka.sasl.mechanism", "GSSAPI", "kerberos.principal", "kerberos.keytab"}},
		{"gssapi with a password", security.SASL{Mechanism: "GSSAPI", Username: "u", PasswordFile: pw}, []string{"kafka.sasl", "GSSAPI", "kerberos.keytab", "kafka.sasl.username"}},
		{"service name with a host", security.SASL{Mechanism: "GSSAPI", ServiceName: "kafka/broker1"}, []string{"kafka.sasl.service_name", "kafka/broker1", "sasl.kerberos.service.name"}},
		{"service name with a realm", security.SASL{Mechanism: "GSSAPI", ServiceName: "kafka@EXAMPLE.COM"}, []string{"kafka.sasl.service_name", "@REALM"}},
		{"service name for scram", security.SASL{Mechanism: "SCRAM-SHA-512", Username: "u", PasswordFile: pw, ServiceName: "kafka"}, []string{"kafka.sasl.service_name", "only for GSSAPI"}},
		{"service name without mechanism", security.SASL{ServiceName: "kafka"}, []string{"kafka.sasl.mechanism", "missing"}},
		{"empty password file", security.SASL{Mechanism: "SCRAM-SHA-512", Username: "u", PasswordFile: empty}, []string{"kafka.sasl.password_file", empty, "empty"}},
		{"missing password file", security.SASL{Mechanism: "PLAIN", Username: "u", PasswordFile: filepath.Join(dir, "nope")}, []string{"kafka.sasl.password_file", "nope"}},
		{"no password", security.SASL{Mechanism: "SCRAM-SHA-256", Username: "u"}, []string{"kafka.sasl.password_file", "missing"}},
		{"no user", security.SASL{Mechanism: "SCRAM-SHA-256", PasswordFile: pw}, []string{"kafka.sasl.username", "missing"}},
		{"file and env", security.SASL{Mechanism: "PLAIN", Username: "u", PasswordFile: pw, PasswordEnv: "PW"}, []string{"kafka.sasl.password_file", "kafka.sasl.password_env", "set one"}},
		{"unset env", security.SASL{Mechanism: "PLAIN", Username: "u", PasswordEnv: "LANDFALL_TEST_UNSET_PW"}, []string{"kafka.sasl.password_env", "LANDFALL_TEST_UNSET_PW"}},
		{"oauth without token", security.SASL{Mechanism: "OAUTHBEARER"}, []string{"kafka.sasl.token_file", "missing"}},
		{"oauth with password", security.SASL{Mechanism: "OAUTHBEARER", TokenFile: pw, PasswordFile: pw}, []string{"kafka.sasl", "token_file"}},
		{"credentials without mechanism", security.SASL{Username: "u", PasswordFile: pw}, []string{"kafka.sasl.mechanism", "missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A client, not logged in, where the case is about the
			// block itself rather than the kerberos one.
			var kc *krb.Client
			if tc.cfg.Mechanism == "GSSAPI" && tc.name != "gssapi without kerberos" {
				kc = unloggedClient()
			}
			m, err := tc.cfg.Build("kafka.sasl", kc)
			if err == nil {
				t.Fatalf("Build = %v, nil; want an error", m)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %q", err)
			}
		})
	}
	t.Setenv("LANDFALL_TEST_PW", "s3cret")
	for _, c := range []security.SASL{
		{Mechanism: "PLAIN", Username: "u", PasswordFile: pw},
		{Mechanism: "SCRAM-SHA-256", Username: "u", PasswordEnv: "LANDFALL_TEST_PW"},
		{Mechanism: "SCRAM-SHA-512", Username: "u", PasswordFile: pw},
		{Mechanism: "OAUTHBEARER", TokenFile: pw},
		{Mechanism: "GSSAPI"},
		{Mechanism: "GSSAPI", ServiceName: "kafka-prod"},
	} {
		m, err := c.Build("kafka.sasl", unloggedClient())
		if err != nil || m == nil || m.Name() != c.Mechanism {
			t.Errorf("Build(%+v) = %v, %v", c, m, err)
		}
	}
}

// unloggedClient is a Kerberos client that never talked to a KDC: what
// GSSAPI's Build needs to build, not to authenticate.
func unloggedClient() *krb.Client {
	return krb.NewWithKeytab("landfall", "EXAMPLE.COM", keytab.New(), krbconfig.New())
}

// TestSASLCheckGSSAPI: config validation, before any login, accepts
// GSSAPI with a kerberos block and refuses it without one, naming the
// keys to set.
func TestSASLCheckGSSAPI(t *testing.T) {
	s := security.SASL{Mechanism: "GSSAPI"}
	if err := s.Check("hive.kafka.sasl", true); err != nil {
		t.Fatalf("Check with a kerberos block: %v", err)
	}
	err := security.CheckKafka("hive.kafka", security.TLS{}, s, false, time.Now())
	for _, w := range []string{"hive.kafka.sasl.mechanism", "kerberos.principal", "kerberos.keytab", "kerberos.krb5_conf"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("CheckKafka without kerberos = %v; want it to name %s", err, w)
		}
	}
	if got := s.KafkaServiceName(); got != "kafka" {
		t.Errorf("default service name %q, want kafka", got)
	}
}

// TestSecretNeverPrints: however a Secret reaches a log line, a message or
// a JSON document, its value doesn't.
func TestSecretNeverPrints(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("hunter2-very-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := security.ReadSecret("etcd.password_file", pw, "etcd.password_env", "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Reveal() != "hunter2-very-secret" {
		t.Fatalf("Reveal = %q (the trailing newline must go, nothing else)", s.Reveal())
	}
	holder := struct {
		User     string
		Password security.Secret
	}{"landfall", s}
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		fmt.Fprintf(&out, verb+"\n", s)
		fmt.Fprintf(&out, verb+"\n", holder)
		fmt.Fprintf(&out, verb+"\n", &holder)
	}
	fmt.Fprintln(&out, fmt.Errorf("wrapped: %v", s))
	slog.New(slog.NewTextHandler(&out, nil)).Info("x", "password", s, "holder", holder)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("x", "password", s, "holder", holder)
	b, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(b)
	if strings.Contains(out.String(), "hunter2") || strings.Contains(out.String(), "68756e74657232") /* hex */ {
		t.Fatalf("the secret printed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "[redacted]") {
		t.Fatalf("no [redacted] marker:\n%s", out.String())
	}
}
