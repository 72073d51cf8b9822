//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/internal/testenv"
)

// endpoint returns the address a service script exported (see
// e2e/services/lib.sh). A missing one fails the test: e2e tests never skip.
func endpoint(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the e2e tests through `make e2e` (e2e/run.sh), which starts the services and exports it", name)
	}
	return v
}

// service runs e2e/services/<name>.sh with args (restart, restart-datanode,
// …), for fault injection.
func service(t *testing.T, name string, args ...string) {
	t.Helper()
	script := filepath.Join(testenv.RepoRoot(t), "e2e", "services", name+".sh")
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s.sh %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	t.Logf("%s.sh %s: done", name, strings.Join(args, " "))
}
