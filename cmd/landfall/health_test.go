package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer/fsys"
)

// gatedFS blocks the first ReadDir after arm() until release is closed:
// recovery's sweep lists the staging directory, so a test can hold the
// pipeline inside recovery for as long as it likes.
type gatedFS struct {
	fsys.FS
	armed   *atomic.Bool
	entered chan struct{}
	release chan struct{}
	once    *sync.Once
}

func (g gatedFS) ReadDir(dir string) ([]fs.FileInfo, error) {
	if g.armed.Load() {
		g.once.Do(func() {
			close(g.entered)
			<-g.release
		})
	}
	return g.FS.ReadDir(dir)
}

// lockedBuffer collects log output written from run's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestHealthEndpoints runs the real run with metrics.listen on a free
// port and follows /readyz through a process's life: 503 while another
// process owns the logid, 503 while recovery is held in its sweep, 200
// once consuming, 503 while an in-process restart backs off after the
// warehouse failed, 200 again once the new attempt consumes. /healthz is
// 200 throughout, including while waiting for ownership: a liveness probe
// must never kill a standby.
func TestHealthEndpoints(t *testing.T) {
	cluster, etcd := services(t)
	table := t.TempDir()
	cfg, err := committer.ParseConfig(fmt.Appendf(nil, `
logid: health
kafka: {brokers: [%s], topic: logs, fetch_max_bytes: 262144}
etcd: {endpoints: [%s], lease_ttl: 2s}
warehouse: {uri: "file://%s"}
format: {name: text}
event_time: {field: ts, max_future: 87600h}
checkpoint: {interval: 100ms}
watermark: {out_of_orderness: 1m}
metrics: {listen: "127.0.0.1:0"}
`, cluster.ListenAddrs()[0], etcd.URL(), table))
	if err != nil {
		t.Fatal(err)
	}

	// Another process owns the logid first.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.URL()}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	holder, err := state.Open(context.Background(), cli, "health", state.WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}

	var broken, armed atomic.Bool
	gate := gatedFS{armed: &armed, entered: make(chan struct{}), release: make(chan struct{}), once: new(sync.Once)}
	openWarehouse = func(uri string, opts ...fsys.OpenOption) (fsys.FS, error) {
		f, err := fsys.Open(uri, opts...)
		g := gate
		g.FS = faultyFS{f, &broken}
		return g, err
	}
	// Long enough to observe the gap between attempts.
	restartBackoff = 2 * time.Second
	defer func() { openWarehouse, restartBackoff = fsys.Open, time.Second }()

	feed := startFeed(t, cluster, 23)
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), func(*committer.Pipeline) { armed.Store(true) })
	}()

	addr := waitFor(t, done, 10*time.Second, "the metrics listener", func() string {
		if m := regexp.MustCompile(`msg=metrics listen=(\S+)`).FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		return ""
	})
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	expect := func(path string, want int, when string) {
		t.Helper()
		if code, body := get(path); code != want {
			t.Fatalf("%s %s: %d %q, want %d", when, path, code, body, want)
		}
	}
	// until polls path until it answers want: the pipeline's state changes
	// on its own schedule.
	until := func(path string, want int, when string) {
		t.Helper()
		waitFor(t, done, 30*time.Second, fmt.Sprintf("%s %s %d", when, path, want), func() string {
			if code, _ := get(path); code == want {
				return "ok"
			}
			return ""
		})
	}

	time.Sleep(300 * time.Millisecond) // run is queued on the ownership lock by now
	expect("/healthz", 200, "waiting for ownership:")
	expect("/readyz", 503, "waiting for ownership:")
	if code, body := get("/readyz"); code != 503 || !bytes.Contains([]byte(body), []byte("ownership")) {
		t.Fatalf("waiting for ownership: /readyz %d %q, want a 503 that says so", code, body)
	}

	if err := holder.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gate.entered:
	case err := <-done:
		t.Fatalf("run returned before recovery: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("recovery did not reach its sweep within 20s of the owner leaving")
	}
	expect("/readyz", 503, "during recovery:")
	expect("/healthz", 200, "during recovery:")
	close(gate.release)
	until("/readyz", 200, "consuming:")

	// The warehouse fails: the attempt ends, run backs off before the next.
	broken.Store(true)
	until("/readyz", 503, "between attempts:")
	expect("/healthz", 200, "between attempts:")
	broken.Store(false)
	until("/readyz", 200, "consuming again:")

	feed.finish(t)
	feed.waitConsumed(t, etcd.URL(), "health", 60*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	feed.check(t, table)
}

// waitFor polls f every 20 ms until it returns a non-empty string, which it
// returns; it fails the test if run returns first or after d.
func waitFor(t *testing.T, done <-chan error, d time.Duration, what string, f func() string) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if s := f(); s != "" {
			return s
		}
		select {
		case err := <-done:
			t.Fatalf("run returned while waiting for %s: %v", what, err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, d)
		}
	}
}
