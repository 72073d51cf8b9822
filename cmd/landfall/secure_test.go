package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/internal/security/sectest"
)

// TestMetricsTLSAndBearerToken: with metrics.tls and
// metrics.bearer_token_file, /metrics answers only over TLS and only with
// the token; the probes need no token; the token is in no log line.
func TestMetricsTLSAndBearerToken(t *testing.T) {
	cluster, etcd := services(t)
	ca := sectest.NewCA(t, "ca")
	srv := ca.Valid(t, "localhost")
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("tok-8c1f2e9a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	table := t.TempDir()
	cfg, err := committer.ParseConfig(fmt.Appendf(nil, `
logid: securemetrics
kafka: {brokers: [%s], topic: logs}
etcd: {endpoints: [%s], lease_ttl: 2s}
warehouse: {uri: "file://%s"}
event_time: {field: ts, max_future: 87600h}
checkpoint: {interval: 100ms}
metrics: {listen: "127.0.0.1:0", tls: {cert_file: %s, key_file: %s}, bearer_token_file: %s}
`, cluster.ListenAddrs()[0], etcd.URL(), table, srv.CertFile, srv.KeyFile, token))
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), nil) }()
	addr := waitFor(t, done, 10*time.Second, "the metrics listener", func() string {
		if m := regexp.MustCompile(`msg=metrics listen=(\S+)`).FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		return ""
	})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(ca.CertFile)
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	get := func(scheme, path, auth string) (int, error) {
		req, _ := http.NewRequest("GET", scheme+"://"+addr+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	for _, c := range []struct {
		path, auth string
		want       int
	}{
		{"/metrics", "", 401},
		{"/metrics", "Bearer wrong", 401},
		{"/metrics", "Bearer tok-8c1f2e9a", 200},
		{"/healthz", "", 200},
	} {
		if code, err := get("https", c.path, c.auth); err != nil || code != c.want {
			t.Errorf("GET https %s (%q) = %d, %v; want %d", c.path, c.auth, code, err, c.want)
		}
	}
	if code, err := get("http", "/healthz", ""); err == nil && code == 200 {
		t.Errorf("plain http answered 200 on the TLS listener")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "tok-8c1f2e9a") {
		t.Fatalf("the token is in the log:\n%s", logs.String())
	}
}

// TestRunRefusedByEtcd: against an etcd with auth on, a user without the
// role and a wrong password each end run within seconds, naming the key
// to fix, without the password in the error or the log, and with nothing
// written to the warehouse.
func TestRunRefusedByEtcd(t *testing.T) {
	cluster, etcd := services(t)
	root, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.URL()}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	ctx := context.Background()
	for _, f := range []func() error{
		func() error { _, err := root.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := root.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := root.UserAdd(ctx, "norole", "norole-pw-51"); return err },
		func() error { _, err := root.AuthEnable(ctx); return err },
	} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	right, wrong := filepath.Join(dir, "right"), filepath.Join(dir, "wrong")
	_ = os.WriteFile(right, []byte("norole-pw-51\n"), 0o600)
	_ = os.WriteFile(wrong, []byte("wrong-pw-77\n"), 0o600)
	for _, c := range []struct{ name, file, want string }{
		{"user without the role", right, "etcd.username norole: state: etcd denied access"},
		{"wrong password", wrong, `etcd.password_file: etcd refused the password of etcd.username "norole"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			table := t.TempDir()
			cfg, err := committer.ParseConfig(fmt.Appendf(nil, `
logid: denied
kafka: {brokers: [%s], topic: logs}
etcd: {endpoints: [%s], username: norole, password_file: %s, connect_timeout: 1m}
warehouse: {uri: "file://%s"}
event_time: {field: ts}
`, cluster.ListenAddrs()[0], etcd.URL(), c.file, table))
			if err != nil {
				t.Fatal(err)
			}
			logs := &lockedBuffer{}
			t0 := time.Now()
			err = run(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("run = %v, want %q", err, c.want)
			}
			if took := time.Since(t0); took > 15*time.Second {
				t.Fatalf("took %v; a refusal must end the start in seconds", took)
			}
			if strings.Contains(err.Error()+logs.String(), "-pw-") {
				t.Fatalf("a password is in the error or the log: %v\n%s", err, logs.String())
			}
			if ents, _ := os.ReadDir(table); len(ents) > 0 {
				t.Fatalf("the warehouse was written: %v", ents)
			}
		})
	}
}

// TestRunRefusesUntrustedEtcd: an etcd whose certificate the configured
// CA didn't sign ends run in seconds naming etcd.tls.ca_file — the etcd
// client alone would only time out after etcd.connect_timeout.
func TestRunRefusesUntrustedEtcd(t *testing.T) {
	cluster, _ := services(t)
	ca, stranger := sectest.NewCA(t, "ca"), sectest.NewCA(t, "stranger")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", sectest.Server(t, ca.Valid(t, "localhost")))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	table := t.TempDir()
	cfg, err := committer.ParseConfig(fmt.Appendf(nil, `
logid: untrusted
kafka: {brokers: [%s], topic: logs}
etcd: {endpoints: [https://%s], tls: {ca_file: %s}, connect_timeout: 1m}
warehouse: {uri: "file://%s"}
event_time: {field: ts}
`, cluster.ListenAddrs()[0], ln.Addr(), stranger.CertFile, table))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	err = run(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	if err == nil || !strings.Contains(err.Error(), "etcd.tls.ca_file: state: etcd's certificate is not trusted") {
		t.Fatalf("run = %v", err)
	}
	if took := time.Since(t0); took > 15*time.Second {
		t.Fatalf("took %v", took)
	}
	if ents, _ := os.ReadDir(table); len(ents) > 0 {
		t.Fatalf("the warehouse was written: %v", ents)
	}
}
