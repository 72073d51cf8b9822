package committer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/landfall/landfall/internal/security"
	"github.com/landfall/landfall/internal/security/sectest"
)

// TestConfigSecurityKeys: every security key parses where the README says,
// and every bad credential fails at parse time naming the full key, the
// file and the fix — never the secret.
func TestConfigSecurityKeys(t *testing.T) {
	ca := sectest.NewCA(t, "ca")
	other := sectest.NewCA(t, "other")
	p := ca.Valid(t, "landfall")
	o := other.Valid(t, "stranger")
	expired := ca.Issue(t, "old", time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	empty := filepath.Join(dir, "empty")
	for f, v := range map[string]string{pw: "pa55-w0rd-xyz\n", empty: ""} {
		if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kafka := func(extra string) string {
		return fmt.Sprintf("kafka: {brokers: [k:1], topic: t, %s}", extra)
	}
	good := strings.Join([]string{
		kafka(fmt.Sprintf("tls: {ca_file: %s, cert_file: %s, key_file: %s, server_name: k1}, sasl: {mechanism: SCRAM-SHA-512, username: landfall, password_file: %s}", ca.CertFile, p.CertFile, p.KeyFile, pw)),
		fmt.Sprintf("etcd: {endpoints: [https://e1:2379], tls: {ca_file: %s, cert_file: %s, key_file: %s}, username: landfall, password_file: %s}", ca.CertFile, p.CertFile, p.KeyFile, pw),
		fmt.Sprintf("metrics: {listen: ':9464', tls: {cert_file: %s, key_file: %s}, bearer_token_file: %s}", p.CertFile, p.KeyFile, pw),
		fmt.Sprintf("hive: {webhook: {url: 'https://hook/x', tls: {ca_file: %s, cert_file: %s, key_file: %s}}, kafka: {brokers: [k:1], topic: n, tls: {ca_file: %s}, sasl: {mechanism: PLAIN, username: u, password_file: %s}}}", ca.CertFile, p.CertFile, p.KeyFile, ca.CertFile, pw),
		"commit: {steps: [success-file, webhook, kafka]}",
	}, "\n")
	c, err := ParseConfig([]byte(withSections(good)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kafka.SASL.Mechanism != "SCRAM-SHA-512" || c.Etcd.Username != "landfall" || c.Metrics.TLS.CertFile != p.CertFile || c.Hive.Webhook.TLS.CAFile != ca.CertFile || c.Hive.Kafka.SASL.Username != "u" {
		t.Fatalf("parsed %+v", c)
	}

	cases := []struct{ yaml, want string }{
		{kafka("tls: {ca_file: /nonexistent/ca.pem}"), "kafka.tls.ca_file: /nonexistent/ca.pem: no such file"},
		{kafka(fmt.Sprintf("tls: {cert_file: %s, key_file: %s}", p.CertFile, o.KeyFile)), "kafka.tls.key_file: " + o.KeyFile + " is not the private key of the certificate in kafka.tls.cert_file"},
		{kafka(fmt.Sprintf("tls: {cert_file: %s, key_file: %s}", expired.CertFile, expired.KeyFile)), "kafka.tls.cert_file: " + expired.CertFile + `: certificate "old" expired`},
		{kafka("tls: {insecure_skip_verify: yes}"), "kafka.tls.insecure_skip_verify"},
		{kafka("sasl: {mechanism: SCRAM-SHA-1024, username: u, password_file: " + pw + "}"), `kafka.sasl.mechanism: "SCRAM-SHA-1024": unknown`},
		{kafka("sasl: {mechanism: GSSAPI}"), "kafka.sasl.mechanism: GSSAPI needs the top-level kerberos block (missing or not usable): set kerberos.principal, kerberos.keytab and kerberos.krb5_conf"},
		{kafka("sasl: {mechanism: SCRAM-SHA-512, username: u, password_file: " + empty + "}"), "kafka.sasl.password_file: " + empty + " is empty"},
		{kafka("sasl: {mechanism: SCRAM-SHA-512, username: u, pasword_file: " + pw + "}"), "kafka.sasl.pasword_file: unknown key (did you mean kafka.sasl.password_file?)"},
		{"etcd: {endpoints: [http://e1:2379], tls: {ca_file: " + ca.CertFile + "}}", `etcd.endpoints[0]: "http://e1:2379" with etcd.tls: use https://`},
		{"etcd: {endpoints: [https://e1:2379], tls: {cert_file: " + p.CertFile + "}}", "etcd.tls.key_file: missing"},
		{"etcd: {endpoints: [https://e1:2379], username: landfall, password_file: " + empty + "}", "etcd.password_file: " + empty + " is empty"},
		{"etcd: {endpoints: [https://e1:2379], username: landfall}", "etcd.password_file: missing"},
		{"etcd: {endpoints: [https://e1:2379], password_file: " + pw + "}", "etcd.username: missing"},
		{"etcd: {endpoints: [embedded], embedded_dir: /x, username: u, password_file: " + pw + "}", "etcd.endpoints: [embedded] takes no"},
		{"metrics: {listen: ':1', tls: {cert_file: " + p.CertFile + ", key_file: " + o.KeyFile + "}}", "metrics.tls.key_file: " + o.KeyFile},
		{"metrics: {listen: ':1', bearer_token_file: " + empty + "}", "metrics.bearer_token_file: " + empty + " is empty"},
		{"metrics: {bearer_token_file: " + pw + "}", "metrics.listen: missing"},
		{"hive: {webhook: {url: 'http://hook/x', tls: {ca_file: " + ca.CertFile + "}}}\ncommit: {steps: [webhook]}", "hive.webhook.tls: set but hive.webhook.url is http://"},
		{"hive: {webhook: {url: 'https://hook/x', tls: {ca_file: /nonexistent/hook-ca.pem}}}\ncommit: {steps: [webhook]}", "hive.webhook.tls.ca_file: /nonexistent/hook-ca.pem"},
		{"hive: {kafka: {brokers: [k:1], topic: n, sasl: {mechanism: SCRAM-SHA-256, username: u, password_file: " + empty + "}}}\ncommit: {steps: [kafka]}", "hive.kafka.sasl.password_file: " + empty + " is empty"},
	}
	for _, tc := range cases {
		_, err := ParseConfig([]byte(withSections(tc.yaml)))
		if err == nil {
			t.Errorf("%s: accepted", tc.yaml)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.yaml, err, tc.want)
		}
		if strings.Contains(err.Error(), "pa55-w0rd") {
			t.Errorf("%s: the error shows the password: %q", tc.yaml, err)
		}
	}
}

// withSections is goodConfig with each top-level section that edit (one
// section a line) sets replaced.
func withSections(edit string) string {
	out := goodConfig
	for _, l := range strings.Split(edit, "\n") {
		key := strings.SplitN(l, ":", 2)[0]
		var lines []string
		for _, g := range strings.Split(out, "\n") {
			if !strings.HasPrefix(g, key+":") {
				lines = append(lines, g)
			}
		}
		out = strings.Join(append(lines, l), "\n")
	}
	return out
}

// TestCheckKafkaNamesTheKeyToFix: against a SASL_SSL kfake cluster with
// SCRAM-SHA-512, the right credentials pass and each wrong certificate
// setting fails in seconds naming the key. (kfake drops the connection on
// a wrong password where Kafka answers SASL_AUTHENTICATION_FAILED: that
// answer is TestClassifyKafkaAuth's, and the e2e test's against a real
// broker.)
func TestCheckKafkaNamesTheKeyToFix(t *testing.T) {
	ca := sectest.NewCA(t, "ca")
	stranger := sectest.NewCA(t, "stranger")
	srv := ca.Valid(t, "broker.test")
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	_ = os.WriteFile(good, []byte("right-pass\n"), 0o600)
	secure, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(sectest.Server(t, srv)),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "landfall", "right-pass"))
	if err != nil {
		t.Fatal(err)
	}
	defer secure.Close()
	plain, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()

	ok := security.TLS{CAFile: ca.CertFile, ServerName: "broker.test"}
	scram := func(file string) security.SASL {
		return security.SASL{Mechanism: "SCRAM-SHA-512", Username: "landfall", PasswordFile: file}
	}
	for _, tc := range []struct {
		name    string
		brokers []string
		tls     security.TLS
		sasl    security.SASL
		want    string // "" = passes
	}{
		{"right credentials", secure.ListenAddrs(), ok, scram(good), ""},
		{"untrusted server certificate", secure.ListenAddrs(), security.TLS{CAFile: stranger.CertFile, ServerName: "broker.test"}, scram(good), "kafka.tls.ca_file: the broker's certificate is not trusted"},
		{"wrong server name", secure.ListenAddrs(), security.TLS{CAFile: ca.CertFile, ServerName: "other.test"}, scram(good), "kafka.tls.server_name"},
		{"no tls against a tls listener, credentials not checked", plain.ListenAddrs(), security.TLS{}, security.SASL{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := security.Kafka("kafka", tc.tls, tc.sasl, nil, time.Now(), nil)
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			err = CheckKafka(context.Background(), "kafka", tc.sasl, tc.brokers, nil, opts...)
			if took := time.Since(t0); took > 10*time.Second {
				t.Errorf("took %v; a refused credential must fail in seconds", took)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("CheckKafka: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("CheckKafka = %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "-pass") {
				t.Fatalf("the error shows a password: %v", err)
			}
		})
	}
}

// TestClassifyKafkaAuth: the brokers' refusals name the key to fix;
// anything else (a broker down) is not a refusal.
func TestClassifyKafkaAuth(t *testing.T) {
	gssapi := security.SASL{Mechanism: security.MechGSSAPI, ServiceName: "kafka-prod"}
	for _, tc := range []struct {
		err  error
		sasl security.SASL
		want string
	}{
		{fmt.Errorf("sasl authenticate: %w", kerr.SaslAuthenticationFailed), security.SASL{}, "kafka.sasl: the brokers refused the credentials"},
		// gokrb5's answer to a TGS request for a principal the KDC lacks,
		// as the e2e test's MIT KDC gives it.
		{errors.New("[Root cause: KDC_Error] KDC_Error: TGS Exchange Error: kerberos error response from KDC when requesting for kafka-prod/localhost: KRB Error: (7) KDC_ERR_S_PRINCIPAL_UNKNOWN Server not found in Kerberos database - LOOKING_UP_SERVER"), gssapi,
			"kafka.sasl.service_name: the KDC knows no broker principal kafka-prod/<broker host>"},
		{fmt.Errorf("sasl authenticate: %w", kerr.SaslAuthenticationFailed), gssapi, "kafka.sasl: the brokers refused landfall's Kerberos ticket"},
		{errors.New("could not get valid TGT for client's realm: KDC_ERR_PREAUTH_FAILED"), gssapi, "kafka.sasl: GSSAPI: the KDC refused a ticket for the brokers"},
		{io.EOF, gssapi, ""},
		{fmt.Errorf("handshake: %w", kerr.UnsupportedSaslMechanism), security.SASL{}, "kafka.sasl.mechanism: the brokers don't accept it"},
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, security.SASL{}, "kafka.tls.ca_file"},
		{errors.New("remote error: tls: certificate required"), security.SASL{}, "kafka.tls.cert_file: the broker refused the TLS handshake"},
		{io.EOF, security.SASL{}, ""},
		{context.DeadlineExceeded, security.SASL{}, ""},
		{syscall.ECONNREFUSED, security.SASL{}, ""},
	} {
		err := classifyKafkaAuth("kafka", tc.sasl, tc.err)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: classified as %v; want not a refusal", tc.err, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v, want %q", tc.err, err, tc.want)
		}
	}
}
