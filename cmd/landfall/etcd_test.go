package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/state"
)

// closedPort is a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// syncBuffer is a log sink that the test reads while run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunFailsOnUnreachableEtcd: with etcd down at start, run retries with
// warnings that name the endpoint and fails within etcd.connect_timeout,
// naming the endpoint and the key (issue 16 item 2: it used to hang after
// "acquiring ownership" for ever).
func TestRunFailsOnUnreachableEtcd(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "logs"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	endpoint := "http://" + closedPort(t)
	cfg, err := committer.ParseConfig(fmt.Appendf(nil, `
logid: noetcd
kafka: {brokers: [%s], topic: logs}
etcd: {endpoints: [%s], dial_timeout: 1s, connect_timeout: 4s}
warehouse: {uri: "file://%s"}
event_time: {field: ts}
`, cluster.ListenAddrs()[0], endpoint, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	done := make(chan error, 1)
	t0 := time.Now()
	go func() {
		done <- run(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	}()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, state.ErrUnreachable) || !strings.Contains(err.Error(), endpoint) || !strings.Contains(err.Error(), "etcd.connect_timeout") {
			t.Fatalf("run returned %v, want state.ErrUnreachable naming %s and etcd.connect_timeout", err, endpoint)
		}
		if d := time.Since(t0); d < 4*time.Second {
			t.Fatalf("gave up after %v, before etcd.connect_timeout (4s)", d)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("run still waiting 20s after start with etcd unreachable (connect_timeout 4s); logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), endpoint) {
		t.Fatalf("no warning naming %s while retrying; logs:\n%s", endpoint, logs.String())
	}
}
