package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/hive/hivetest"
)

const (
	dashboardFile = "../../deploy/grafana/landfall.json"
	rulesFile     = "../../deploy/prometheus/landfall-rules.yml"
)

// synthetic are series that Prometheus makes itself at scrape time, so no
// /metrics endpoint has them.
var synthetic = map[string]bool{"up": true}

// TestDashboardAndRulesMetricsExist runs landfall as `landfall run` does
// (kfake, embedded etcd, a local warehouse, an in-process metastore, the
// metrics endpoint on metrics.listen), scrapes /metrics while records flow
// and partitions commit, and checks that every metric the Grafana
// dashboard and the alert rules name is there. A rule over a metric that
// does not exist evaluates to nothing and never fires, and promtool cannot
// tell: this test can.
//
// The names come from the PromQL parser (Prometheus' own
// promql/parser), not a regexp: it tells metric names from label names,
// functions and strings, and it rejects a dashboard expression that is not
// PromQL at all, which neither Grafana's JSON nor promtool checks.
func TestDashboardAndRulesMetricsExist(t *testing.T) {
	used := usedMetrics(t)
	if len(used) < 10 {
		t.Fatalf("only %d metric names found in the dashboard and rules: the parsing is broken", len(used))
	}

	cluster, etcd := services(t)
	srv := hivetest.New(t)
	table := t.TempDir()
	addr := freeAddr(t)
	cfg, err := committer.ParseConfig(fmt.Appendf(nil, `
logid: observe
kafka: {brokers: [%s], topic: logs}
etcd: {endpoints: [%s], lease_ttl: 2s}
warehouse: {uri: "file://%s"}
hive: {database: ods, table: observe, metastore: {uris: [%q]}}
format: {name: text, compression: zstd}
event_time: {field: ts, max_future: 87600h}
checkpoint: {interval: 100ms}
watermark: {out_of_orderness: 1m}
metrics: {listen: %q}
`, cluster.ListenAddrs()[0], etcd.URL(), table, srv.URI(), addr))
	if err != nil {
		t.Fatal(err)
	}
	client, err := hive.NewClient(cfg.Hive.Metastore)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := client.CreateDatabase(ctx, "ods", "file://"+table); err != nil {
		t.Fatal(err)
	}
	if _, err := ensureTable(ctx, client, cfg); err != nil {
		t.Fatal(err)
	}

	feed := startFeed(t, cluster, 16)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil) }()

	// Counters with labels appear with their first event and histograms
	// with their first observation: scrape until a partition commit has
	// gone through the metastore, or until it is clear some never come.
	var missing []string
	deadline := time.Now().Add(45 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("run returned: %v", err)
		default:
		}
		// Until run listens, the scrape fails and everything is missing.
		have, err := scrape("http://" + addr + "/metrics")
		missing = missing[:0]
		for _, name := range used {
			if !have[name] && !synthetic[name] {
				missing = append(missing, name)
			}
		}
		if err != nil && time.Now().After(deadline) {
			t.Fatal(err)
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	feed.finish(t)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("graceful stop: %v", err)
	}
	if len(missing) > 0 {
		t.Fatalf("metrics used by %s or %s but not on a running landfall's /metrics: %s", dashboardFile, rulesFile, strings.Join(missing, ", "))
	}
	t.Logf("all %d metrics of the dashboard and rules are on /metrics: %s", len(used), strings.Join(used, " "))
}

// usedMetrics returns the sorted metric names of every PromQL expression
// in the dashboard (panel targets and template variables) and the rules.
func usedMetrics(t *testing.T) []string {
	t.Helper()
	var exprs []string
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				t.Errorf("%s: panel %q has a target without expr", dashboardFile, p.Title)
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Fatalf("%s: template variable query: %v", dashboardFile, err)
		}
		// label_values(selector, label) is Grafana's, around PromQL.
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			t.Fatalf("%s: template variable query %q is not label_values(selector, label)", dashboardFile, q.Query)
		}
		exprs = append(exprs, m[1])
	}

	b, err = os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}

	names := map[string]bool{}
	for _, e := range exprs {
		expr, err := parser.ParseExpr(grafanaVars.Replace(e))
		if err != nil {
			t.Errorf("not PromQL: %q: %v", e, err)
			continue
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				name := vs.Name
				for _, m := range vs.LabelMatchers {
					if m.Name == "__name__" {
						name = m.Value
					}
				}
				if name == "" {
					t.Errorf("selector without a metric name in %q", e)
				}
				names[name] = true
			}
			return nil
		})
	}
	if t.Failed() {
		t.FailNow()
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var (
	labelValues = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)
	// Grafana's interval variables are durations at query time; label
	// variables sit inside quoted matchers and parse as they are.
	grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")
)

// scrape returns the names of the samples on a /metrics page, as
// exposed: a histogram's _bucket, _sum and _count each.
func scrape(url string) (map[string]bool, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", resp.Status)
	}
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names, nil
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
