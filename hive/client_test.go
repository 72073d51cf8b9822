package hive_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/hive/hivetest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A metastore that is down for a while and then comes back: the call keeps
// retrying with backoff and succeeds once it is up, over a new connection
// (the pooled one died with the server).
func TestClientRetriesThroughOutage(t *testing.T) {
	srv := hivetest.New(t)
	reg := prometheus.NewRegistry()
	c := newClient(t, hive.MetastoreConfig{
		URIs:  []string{srv.URI()},
		Retry: hive.RetryConfig{Attempts: 100, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond},
	}, hive.WithRegisterer(reg))
	ctx := ctxT(t)
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	srv.Down()
	up := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		up <- srv.Up()
	}()
	start := time.Now()
	if err := c.CreateDatabase(ctx, "logs", "hdfs://nn/logs"); err != nil {
		t.Fatalf("create database through an outage: %v", err)
	}
	if err := <-up; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("call returned after %v, before the server was up", d)
	}
	if got := testutil.ToFloat64(metric(t, reg, "landfall_hive_metastore_requests_total", "create_database", "transient")); got < 2 {
		t.Errorf("transient create_database attempts = %v, want several", got)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestClientGivesUpWithErrUnavailable(t *testing.T) {
	srv := hivetest.New(t)
	c := newClient(t, hive.MetastoreConfig{URIs: []string{srv.URI()}})
	srv.Down()
	err := c.Ping(ctxT(t))
	if !errors.Is(err, hive.ErrUnavailable) || hive.IsPermanent(err) {
		t.Fatalf("Ping of a down metastore = %v; want transient ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "3 times") {
		t.Errorf("error should say how often it tried: %v", err)
	}
}

func TestClientRetriesMetaException(t *testing.T) {
	srv := hivetest.New(t)
	c := newClient(t, hive.MetastoreConfig{URIs: []string{srv.URI()}})
	srv.FailNext(2)
	if err := c.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping after two MetaExceptions: %v", err)
	}
	if n := srv.Calls("get_all_databases"); n != 3 {
		t.Errorf("get_all_databases called %d times, want 3", n)
	}

	srv.Fail("backing database down")
	err := c.Ping(ctxT(t))
	var me *hive.MetastoreError
	if !errors.As(err, &me) || !errors.Is(err, hive.ErrUnavailable) || !strings.Contains(err.Error(), "backing database down") {
		t.Fatalf("Ping of a failing metastore = %v; want ErrUnavailable wrapping the MetaException", err)
	}
}

func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := len(m.GetLabel()) == len(labels)
			for i, l := range m.GetLabel() {
				ok = ok && i < len(labels) && l.GetValue() == labels[i]
			}
			if ok {
				g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
				switch {
				case m.GetCounter() != nil:
					g.Set(m.GetCounter().GetValue())
				case m.GetGauge() != nil:
					g.Set(m.GetGauge().GetValue())
				}
				return g
			}
		}
	}
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"}) // zero: not recorded
}

// The first URI refuses connections: calls go to the second and stay there.
func TestClientFailsOverToSecondURI(t *testing.T) {
	a, b := hivetest.New(t), hivetest.New(t)
	reg := prometheus.NewRegistry()
	c := newClient(t, hive.MetastoreConfig{URIs: []string{a.URI(), b.URI()}}, hive.WithRegisterer(reg))
	a.Down()
	for range 3 {
		if err := c.Ping(ctxT(t)); err != nil {
			t.Fatalf("Ping with the first URI down: %v", err)
		}
	}
	if n := b.Calls("get_all_databases"); n != 3 {
		t.Errorf("second metastore got %d calls, want 3", n)
	}
	if got := testutil.ToFloat64(metric(t, reg, "landfall_hive_metastore_failovers_total")); got != 1 {
		t.Errorf("failovers = %v, want 1", got)
	}

	// Now the second one dies and the first is back: fail back to it.
	if err := a.Up(); err != nil {
		t.Fatal(err)
	}
	b.Down()
	if err := c.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping after failing back: %v", err)
	}
	if n := a.Calls("get_all_databases"); n != 1 {
		t.Errorf("first metastore got %d calls after failback, want 1", n)
	}
}

// A metastore that accepts the call and never answers: the call timeout
// cuts it and the client moves to the other URI.
func TestClientFailsOverFromHungMetastore(t *testing.T) {
	a, b := hivetest.New(t), hivetest.New(t)
	c := newClient(t, hive.MetastoreConfig{URIs: []string{a.URI(), b.URI()}, CallTimeout: 200 * time.Millisecond})
	a.Hang(true)
	start := time.Now()
	if err := c.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping with the first metastore hung: %v", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("Ping took %v; want about one call timeout", d)
	}
	if a.Calls("get_all_databases") != 1 || b.Calls("get_all_databases") != 1 {
		t.Errorf("calls: hung %d, healthy %d; want 1 and 1", a.Calls("get_all_databases"), b.Calls("get_all_databases"))
	}
}

// Cancelling the context ends a call to a hung metastore at once, whatever
// the call timeout.
func TestClientCallHonoursContext(t *testing.T) {
	srv := hivetest.New(t)
	c := newClient(t, hive.MetastoreConfig{URIs: []string{srv.URI()}, CallTimeout: time.Minute})
	srv.Hang(true)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Ping(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ping of a hung metastore = %v; want the context's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Ping returned after %v, long after the context ended", d)
	}
	srv.Hang(false)
	if err := c.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping after the hang: %v", err)
	}
}

// Many goroutines share a pool smaller than their number.
func TestClientConcurrentCalls(t *testing.T) {
	srv := hivetest.New(t)
	c := newClient(t, hive.MetastoreConfig{URIs: []string{srv.URI()}, MaxConns: 2})
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16*10)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				errs <- c.Ping(ctx)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Calls("get_all_databases"); n != 160 {
		t.Errorf("calls = %d, want 160", n)
	}
}

func TestNewClientValidates(t *testing.T) {
	_, err := hive.NewClient(hive.MetastoreConfig{URIs: []string{"http://x:9083", "thrift://nohost"}})
	if err == nil || !strings.Contains(err.Error(), "hive.metastore.uris[0]") || !strings.Contains(err.Error(), "hive.metastore.uris[1]") {
		t.Fatalf("NewClient with bad URIs = %v; want errors naming both keys", err)
	}
}
