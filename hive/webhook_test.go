package hive_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/hive"
)

// receiver is a webhook target that counts deliveries per idempotency key
// and answers with the queued status codes, then 200.
type receiver struct {
	mu         sync.Mutex
	codes      []int
	deliveries map[string]int
	bodies     []hive.Notification
	headers    []http.Header
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliveries[req.Header.Get("Idempotency-Key")]++
	r.headers = append(r.headers, req.Header.Clone())
	var n hive.Notification
	if err := json.Unmarshal(b, &n); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.bodies = append(r.bodies, n)
	code := http.StatusOK
	if len(r.codes) > 0 {
		code, r.codes = r.codes[0], r.codes[1:]
	}
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(code)
	_, _ = w.Write([]byte("status " + http.StatusText(code)))
}

func newReceiver(t *testing.T, codes ...int) (*receiver, *httptest.Server) {
	r := &receiver{codes: codes, deliveries: map[string]int{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func webhookStep(t *testing.T, url string, attempts int) *hive.Webhook {
	t.Helper()
	w, err := hive.NewWebhook(hive.WebhookConfig{
		URL:     url,
		Timeout: time.Second,
		Headers: map[string]string{"Authorization": "Bearer t0ken"},
		Retry:   hive.RetryConfig{Attempts: attempts, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
	}, hive.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWebhookRetriesUntilDelivered(t *testing.T) {
	r, srv := newReceiver(t, 503, 500, 429, 408)
	w := webhookStep(t, srv.URL, 5)
	p := commit("20261121", "13", 3, 1000, 4096)
	if err := w.Commit(ctxT(t), p); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if n := r.deliveries[p.Key]; n != 5 {
		t.Errorf("deliveries for %s = %d, want 5 (four failures, then 200)", p.Key, n)
	}
	h := r.headers[0]
	if h.Get("Authorization") != "Bearer t0ken" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", h)
	}
	got := r.bodies[len(r.bodies)-1]
	want := hive.Notification{
		Event: "partition_committed", Database: "logs", Table: "clicks",
		Partition:     map[string]string{"log_date": "20261121", "log_hour": "13"},
		PartitionPath: p.Path, Location: p.Location, NumFiles: 3, NumRows: 1000, TotalSize: 4096,
		Watermark: p.Watermark, CommitTime: p.CommitTime, IdempotencyKey: p.Key,
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Errorf("body\n%s\nwant\n%s", gb, wb)
	}
}

// The same commit delivered again (a retry by the commit queue) carries the
// same key, so the receiver can drop it; an update carries its own.
func TestWebhookIdempotencyKeyPerCommit(t *testing.T) {
	r, srv := newReceiver(t)
	w := webhookStep(t, srv.URL, 2)
	p := commit("20261121", "13", 3, 1000, 4096)
	for range 2 {
		if err := w.Commit(ctxT(t), p); err != nil {
			t.Fatal(err)
		}
	}
	u := p
	u.Update, u.Key, u.NumRows = true, "clicks/20261121/13/2", 1001
	if err := w.Commit(ctxT(t), u); err != nil {
		t.Fatal(err)
	}
	if r.deliveries[p.Key] != 2 || r.deliveries[u.Key] != 1 || len(r.deliveries) != 2 {
		t.Errorf("deliveries = %v", r.deliveries)
	}
	if last := r.bodies[2]; last.Event != "partition_updated" || !last.Update || last.IdempotencyKey != u.Key {
		t.Errorf("update notification = %+v", last)
	}
}

func TestWebhookPermanentOn4xx(t *testing.T) {
	r, srv := newReceiver(t, 400)
	w := webhookStep(t, srv.URL, 5)
	p := commit("20261121", "13", 1, 1, 1)
	err := w.Commit(ctxT(t), p)
	if !hive.IsPermanent(err) || !strings.Contains(err.Error(), "400") {
		t.Fatalf("commit answered 400 = %v; want a permanent error naming the status", err)
	}
	if n := r.deliveries[p.Key]; n != 1 {
		t.Errorf("deliveries = %d; a 400 must not be retried", n)
	}
}

func TestWebhookGivesUpTransient(t *testing.T) {
	r, srv := newReceiver(t, 502, 502, 502)
	w := webhookStep(t, srv.URL, 3)
	p := commit("20261121", "13", 1, 1, 1)
	err := w.Commit(ctxT(t), p)
	if err == nil || hive.IsPermanent(err) || !strings.Contains(err.Error(), "502") {
		t.Fatalf("commit answered 502 thrice = %v; want a transient error", err)
	}
	if n := r.deliveries[p.Key]; n != 3 {
		t.Errorf("deliveries = %d, want 3", n)
	}
	// The commit queue retries later: the receiver is fine now.
	if err := w.Commit(ctxT(t), p); err != nil {
		t.Fatal(err)
	}
}

func TestWebhookConnectionRefusedIsTransient(t *testing.T) {
	_, srv := newReceiver(t)
	url := srv.URL
	srv.Close()
	err := webhookStep(t, url, 2).Commit(ctxT(t), commit("20261121", "13", 1, 1, 1))
	if err == nil || hive.IsPermanent(err) {
		t.Fatalf("commit to a closed port = %v; want a transient error", err)
	}
}
