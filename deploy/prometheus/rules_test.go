// Package prometheus_test checks landfall's Prometheus alert rules with
// promtool: their syntax, and their unit tests in landfall-rules.test.yml.
// That every metric they name exists on a running landfall is checked by
// cmd/landfall's TestDashboardAndRulesMetricsExist.
package prometheus_test

import (
	"os/exec"
	"testing"
)

// promtool runs promtool in this directory. A missing promtool fails the
// test rather than skipping it: rules nobody checks are rules that break
// silently. make test-deps installs it (e2e/deps/test-promtool.sh).
func promtool(t *testing.T, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not on PATH: run make test-deps (e2e/deps/test-promtool.sh installs Debian's prometheus package): %v", err)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
	t.Logf("promtool %v:\n%s", args, out)
}

func TestRulesCheck(t *testing.T) { promtool(t, "check", "rules", "landfall-rules.yml") }

func TestRulesUnitTests(t *testing.T) { promtool(t, "test", "rules", "landfall-rules.test.yml") }
