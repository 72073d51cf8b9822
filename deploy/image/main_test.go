package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestImage builds landfall as make image does (CGO_ENABLED=0), writes the
// image tarball, reads it back with go-containerregistry's tarball reader
// (the docker-archive format docker load and podman load take) and checks
// what the manifests and the systemd-less deployments rely on: the
// entrypoint and arguments, the non-root user, and a filesystem holding
// the executable landfall, the CA bundle and the user it runs as. Then it
// runs the binary it took out of the image.
func TestImage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "landfall")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "../../cmd/landfall")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ca := []byte("-----BEGIN CERTIFICATE-----\nMIIB…test…\n-----END CERTIFICATE-----\n")
	caPath := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caPath, ca, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "landfall.tar")
	o := options{binary: bin, caBundle: caPath, out: out, tag: "landfall:test", version: "test", created: time.Unix(1700000000, 0).UTC()}
	if err := write(o); err != nil {
		t.Fatal(err)
	}

	tag, _ := name.NewTag("landfall:test")
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("read the image back: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if got := append(slices.Clone(c.Entrypoint), c.Cmd...); !slices.Equal(got, []string{"/landfall", "run", "--config", "/etc/landfall/landfall.yaml"}) {
		t.Errorf("entrypoint+cmd %q, want /landfall run --config /etc/landfall/landfall.yaml", got)
	}
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (non-root)", c.User)
	}
	if cf.OS != "linux" || cf.Architecture == "" {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	if c.StopSignal != "SIGTERM" {
		t.Errorf("stop signal %q, want SIGTERM (landfall's graceful stop)", c.StopSignal)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Errorf("%d layers, want 2 (base, binary)", len(layers))
	}

	// The flattened filesystem, as a container sees it.
	files := map[string]*tar.Header{}
	contents := map[string][]byte{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files["/"+strings.TrimSuffix(h.Name, "/")] = h
		if h.Typeflag == tar.TypeReg && h.Name != "landfall" {
			contents["/"+h.Name], _ = io.ReadAll(tr)
		} else if h.Name == "landfall" {
			b, _ := io.ReadAll(tr)
			contents["/landfall"] = b
		}
	}
	lf := files["/landfall"]
	switch {
	case lf == nil:
		t.Fatal("no /landfall in the image")
	case lf.Typeflag != tar.TypeReg || lf.Mode&0o111 != 0o111:
		t.Errorf("/landfall: type %c mode %o, want an executable file", lf.Typeflag, lf.Mode)
	case lf.Uid != 0 || lf.Mode&0o022 != 0:
		t.Errorf("/landfall: uid %d mode %o: the user it runs as must not be able to replace it", lf.Uid, lf.Mode)
	}
	if f, err := elf.NewFile(bytes.NewReader(contents["/landfall"])); err != nil {
		t.Errorf("/landfall is not an ELF executable: %v", err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("/landfall is dynamically linked: it cannot start on scratch")
			}
		}
	}
	if !bytes.Equal(contents["/etc/ssl/certs/ca-certificates.crt"], ca) {
		t.Errorf("/etc/ssl/certs/ca-certificates.crt: %q, want the CA bundle", contents["/etc/ssl/certs/ca-certificates.crt"])
	}
	if !bytes.Contains(contents["/etc/passwd"], []byte(":65532:65532:")) {
		t.Errorf("/etc/passwd names no user 65532:\n%s", contents["/etc/passwd"])
	}
	if h := files["/tmp"]; h == nil || h.Mode&0o1777 != 0o1777 {
		t.Error("/tmp missing or not world-writable with the sticky bit (Kerberos caches)")
	}

	// The binary from the image runs (on this linux host).
	got := filepath.Join(dir, "from-image")
	if err := os.WriteFile(got, contents["/landfall"], 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(got, "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(b), "landfall ") {
		t.Errorf("landfall version from the image: %v %q", err, b)
	}

	// Reproducible: the same inputs give the same digest.
	img2, err := build(o)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := img2.Digest()
	if d1 != d2 {
		t.Errorf("two builds of the same inputs: %s and %s", d1, d2)
	}
}

// TestImageRefusesDynamicBinary: a cgo build would pass every other check
// and then fail on scratch with "no such file or directory" (its loader
// is missing); the builder refuses it and says how to build instead.
func TestImageRefusesDynamicBinary(t *testing.T) {
	ls, err := exec.LookPath("ls") // dynamically linked on every Debian
	if err != nil {
		t.Fatal("no ls on PATH: the test needs a dynamically linked executable to refuse")
	}
	_, err = build(options{binary: ls, caBundle: "/dev/null", created: time.Unix(0, 0)})
	if err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("build with %s: %v, want a refusal naming CGO_ENABLED=0", ls, err)
	}
}
