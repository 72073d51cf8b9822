package kubernetes

import (
	"bytes"
	"net"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/landfall/landfall/committer"
)

// The image's contract (deploy/image): its non-root uid and where its
// default arguments read the config.
const (
	imageUID   = 65532
	configPath = "/etc/landfall/landfall.yaml"
)

// manifests decodes every document of file into the Kubernetes API type
// its kind names, strictly: a misspelt or misplaced key (readinesProbe,
// a probe under the pod instead of the container) fails here as the API
// server would refuse it, instead of being silently dropped as a lenient
// decode would.
func manifests(t *testing.T, file string) (*corev1.ConfigMap, *corev1.ServiceAccount, *appsv1.Deployment) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var (
		cm  *corev1.ConfigMap
		sa  *corev1.ServiceAccount
		dep *appsv1.Deployment
	)
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("%s document %d: %v", file, i, err)
		}
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 ConfigMap":
			cm = new(corev1.ConfigMap)
			obj = cm
		case "v1 ServiceAccount":
			sa = new(corev1.ServiceAccount)
			obj = sa
		case "apps/v1 Deployment":
			dep = new(appsv1.Deployment)
			obj = dep
		default:
			t.Fatalf("%s document %d: unexpected %s %s", file, i, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s document %d (%s): %v", file, i, tm.Kind, err)
		}
	}
	if cm == nil || sa == nil || dep == nil {
		t.Fatalf("%s: want a ConfigMap, a ServiceAccount and a Deployment", file)
	}
	return cm, sa, dep
}

// TestManifests checks deploy/kubernetes/landfall.yaml against the API
// types and against landfall itself: the ConfigMap's config is one
// landfall accepts; the Deployment mounts it where the image reads it,
// probes the port metrics.listen serves (liveness on /healthz, readiness
// on /readyz), waits longer than a graceful stop before it kills, and
// gives the container the memory format.memory_budget needs.
func TestManifests(t *testing.T) {
	cm, sa, dep := manifests(t, "landfall.yaml")

	raw, ok := cm.Data["landfall.yaml"]
	if !ok {
		t.Fatal("ConfigMap: no landfall.yaml key")
	}
	cfg, err := committer.ParseConfig([]byte(raw))
	if err != nil {
		t.Fatalf("ConfigMap landfall.yaml: landfall refuses it: %v", err)
	}

	spec := dep.Spec
	pod := spec.Template.Spec
	if sel := spec.Selector; sel == nil || !subset(sel.MatchLabels, spec.Template.Labels) || len(sel.MatchLabels) == 0 {
		t.Errorf("selector %v does not select the template's labels %v", spec.Selector, spec.Template.Labels)
	}
	if spec.Replicas == nil || *spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2 (owner + standby)", spec.Replicas)
	}
	// A standby is never Ready, so a rolling update would wait forever.
	if spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("strategy %q, want Recreate", spec.Strategy.Type)
	}
	if pod.ServiceAccountName != sa.Name {
		t.Errorf("serviceAccountName %q, want %q", pod.ServiceAccountName, sa.Name)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]

	// The config reaches the process.
	if !slices.Equal(c.Args, []string{"run", "--config", configPath}) {
		t.Errorf("args %q, want run --config %s", c.Args, configPath)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
				continue
			}
			for _, it := range v.ConfigMap.Items {
				if it.Key == "landfall.yaml" && path.Join(m.MountPath, it.Path) == configPath {
					mounted = true
				}
			}
		}
	}
	if !mounted {
		t.Errorf("ConfigMap %s's landfall.yaml is not mounted at %s", cm.Name, configPath)
	}

	// Probes on the port landfall serves them on.
	_, port, err := net.SplitHostPort(cfg.Metrics.Listen)
	if err != nil {
		t.Fatalf("metrics.listen %q: %v (the probes need it)", cfg.Metrics.Listen, err)
	}
	metricsPort, _ := strconv.Atoi(port)
	probe := func(what string, p *corev1.Probe, wantPath string) {
		t.Helper()
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe on %s", what, wantPath)
			return
		}
		if p.HTTPGet.Path != wantPath {
			t.Errorf("%s: path %q, want %q", what, p.HTTPGet.Path, wantPath)
		}
		if got := containerPort(c, p.HTTPGet.Port); got != metricsPort {
			t.Errorf("%s: port %s is container port %d, but metrics.listen is %s", what, p.HTTPGet.Port.String(), got, cfg.Metrics.Listen)
		}
	}
	// Liveness on /readyz would kill every standby and every recovery.
	probe("livenessProbe", c.LivenessProbe, "/healthz")
	probe("readinessProbe", c.ReadinessProbe, "/readyz")

	// A graceful stop must finish before the kubelet's SIGKILL.
	bound := committer.StopBound(*cfg)
	if g := pod.TerminationGracePeriodSeconds; g == nil {
		t.Errorf("no terminationGracePeriodSeconds: the default 30s is below landfall's graceful-stop bound %v", bound)
	} else if time.Duration(*g)*time.Second < bound {
		t.Errorf("terminationGracePeriodSeconds %d: below landfall's graceful-stop bound %v with this config", *g, bound)
	}

	// Memory: the budget, Kafka's fetch buffers and the runtime's share.
	budget := cfg.Format.MemoryBudget
	if budget == 0 {
		budget = 256 << 20
		if cfg.Format.Name == "orc" {
			budget = 512 << 20
		}
	}
	need := budget + 4*int64(cfg.Kafka.FetchMaxBytes) + 256<<20
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok || limit.Value() < need {
		t.Errorf("memory limit %v: below memory_budget %d + 4 × fetch_max_bytes %d + 256 MiB = %d", limit.String(), budget, cfg.Kafka.FetchMaxBytes, need)
	}
	if req := c.Resources.Requests[corev1.ResourceMemory]; req.Cmp(limit) != 0 {
		t.Errorf("memory request %v != limit %v: the scheduler must reserve what landfall keeps to", req.String(), limit.String())
	}
	var gomem string
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			gomem = e.Value
		}
	}
	if q, err := goMemLimit(gomem); err != nil || q < need || q >= limit.Value() {
		t.Errorf("GOMEMLIMIT %q (%v): want between the need %d and the limit %d", gomem, err, need, limit.Value())
	}

	// Non-root, as the image's user; nothing to escalate to.
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != imageUID {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and runAsUser %d", sc, imageUID)
	}
	if csc := c.SecurityContext; csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
		csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		t.Errorf("container securityContext %+v: want allowPrivilegeEscalation false and a read-only root", csc)
	}
}

// TestManifestsStrict: the decoding above refuses what the API server
// would, or the test proves nothing about the file.
func TestManifestsStrict(t *testing.T) {
	b, err := os.ReadFile("landfall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A typo in a key the file has.
	bad := bytes.Replace(b, []byte("readinessProbe:"), []byte("readinesProbe:"), 1)
	if bytes.Equal(bad, b) {
		t.Fatal("no readinessProbe in landfall.yaml")
	}
	var dep appsv1.Deployment
	doc := regexp.MustCompile(`(?m)^---\s*$`).Split(string(bad), -1)[2]
	if err := yaml.UnmarshalStrict([]byte(doc), &dep); err == nil {
		t.Fatal("a misspelt readinessProbe decoded without an error")
	}
}

func subset(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// containerPort resolves a probe's port, by number or by name.
func containerPort(c corev1.Container, p intstr.IntOrString) int {
	if p.Type == intstr.Int {
		return p.IntValue()
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort)
		}
	}
	return -1
}

// goMemLimit parses GOMEMLIMIT as the Go runtime does: bytes with an
// optional B, KiB, MiB, GiB or TiB suffix.
func goMemLimit(s string) (int64, error) {
	for _, u := range []struct {
		suf string
		k   string
	}{{"KiB", "Ki"}, {"MiB", "Mi"}, {"GiB", "Gi"}, {"TiB", "Ti"}, {"B", ""}} {
		if n, ok := strings.CutSuffix(s, u.suf); ok {
			q, err := resource.ParseQuantity(n + u.k)
			return q.Value(), err
		}
	}
	q, err := resource.ParseQuantity(s)
	return q.Value(), err
}
