package lzo

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

// logText returns n bytes of deterministic JSON log lines of about 300
// bytes, with the variety real service logs have: timestamps, levels,
// hosts, paths, ids, latencies and messages.
func logText(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	levels := []string{"info", "info", "info", "info", "debug", "warn", "error"}
	hosts := make([]string, 40)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("ip-10-%d-%d-%d.ec2.internal", r.IntN(256), r.IntN(256), r.IntN(256))
	}
	services := []string{"checkout", "cart", "search", "auth", "payments", "catalog", "gateway"}
	paths := []string{"/api/v1/orders", "/api/v1/cart/items", "/api/v2/search", "/login", "/api/v1/payments/authorize", "/healthz", "/api/v1/catalog/products", "/static/app.js"}
	methods := []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	msgs := []string{"request completed", "cache miss, fetching from origin", "upstream timeout, retrying", "user session refreshed", "rate limit exceeded", "payment authorized", "slow query detected"}
	agents := []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2)", "okhttp/4.12.0", "curl/8.5.0", "Go-http-client/2.0"}
	var b bytes.Buffer
	b.Grow(n + 512)
	ts := int64(1_763_700_000_000)
	for b.Len() < n {
		ts += int64(r.IntN(40))
		status := 200
		if r.IntN(20) == 0 {
			status = []int{301, 404, 500, 503}[r.IntN(4)]
		}
		fmt.Fprintf(&b, `{"ts":"2025-11-21T%02d:%02d:%02d.%03dZ","level":"%s","service":"%s","host":"%s","method":"%s","path":"%s?id=%d","status":%d,"latency_ms":%.3f,"trace_id":"%016x%016x","user_id":%d,"ua":"%s","msg":"%s"}`+"\n",
			(ts/3600000)%24, (ts/60000)%60, (ts/1000)%60, ts%1000,
			levels[r.IntN(len(levels))], services[r.IntN(len(services))], hosts[r.IntN(len(hosts))],
			methods[r.IntN(len(methods))], paths[r.IntN(len(paths))], r.IntN(1_000_000), status,
			r.Float64()*250, r.Uint64(), r.Uint64(), r.IntN(10_000_000), agents[r.IntN(len(agents))], msgs[r.IntN(len(msgs))])
	}
	return b.Bytes()[:n]
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// lzopPath returns the lzop binary; the interoperability tests are the
// proof that Hadoop-side tools read our files, so a missing lzop fails.
func lzopPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("lzop")
	if err != nil {
		t.Fatalf("lzop is not installed (%v): run `make test-deps`, which installs it with e2e/deps/test-lzop.sh", err)
	}
	return p
}

// runLzop runs lzop with args, feeding it stdin, and returns its stdout.
func runLzop(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(lzopPath(t), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("lzop %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes()
}
