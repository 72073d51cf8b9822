// Command image assembles landfall's container image from a static
// landfall binary, without a Docker daemon or a registry, and writes it as
// a tarball that `docker load` and `podman load` read:
//
//	CGO_ENABLED=0 go build -o out/image/landfall ./cmd/landfall
//	go run ./deploy/image --binary out/image/landfall --out out/image/landfall.tar
//
// (`make image` does both.) The image is FROM scratch: no shell, no
// package manager, nothing to patch but landfall itself. What landfall
// needs from a base image is there: the CA bundle for TLS to Kafka, etcd,
// HDFS and the metastore; /etc/passwd and /etc/group naming the non-root
// user it runs as (uid 65532, distroless's "nonroot"); a writable /tmp for
// Kerberos credential caches. Time zones need no /usr/share/zoneinfo: the
// binary embeds its own (time/tzdata), so partition paths don't change
// with the image.
//
// The build is reproducible: entries are sorted, owned by root and dated
// SOURCE_DATE_EPOCH (the Unix epoch without it), so the same binary and CA
// bundle give the same image digest on any machine.
package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The image's contract with the manifests in deploy/kubernetes: the
// config is mounted at configPath, the process runs as nonRoot.
const (
	binaryPath = "/landfall"
	configPath = "/etc/landfall/landfall.yaml"
	nonRoot    = 65532
)

func main() {
	binary := flag.String("binary", "out/image/landfall", "a static (CGO_ENABLED=0) landfall binary for linux")
	caBundle := flag.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM CA bundle to ship (Debian's ca-certificates package)")
	out := flag.String("out", "out/image/landfall.tar", "image tarball to write")
	tag := flag.String("tag", "landfall:dev", "the name docker load gives the image")
	version := flag.String("version", "dev", "the org.opencontainers.image.version label")
	flag.Parse()
	created := time.Unix(0, 0).UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "image: SOURCE_DATE_EPOCH=%q is not a Unix time in seconds\n", s)
			os.Exit(2)
		}
		created = time.Unix(sec, 0).UTC()
	}
	if err := write(options{binary: *binary, caBundle: *caBundle, out: *out, tag: *tag, version: *version, created: created}); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

type options struct {
	binary, caBundle, out, tag, version string
	created                             time.Time
}

// write builds the image and writes its tarball atomically: a failed build
// leaves no half tarball for docker load to choke on.
func write(o options) error {
	ref, err := name.NewTag(o.tag)
	if err != nil {
		return fmt.Errorf("--tag: %w", err)
	}
	img, err := build(o)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	tmp := o.out + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", o.out, err)
	}
	return os.Rename(tmp, o.out)
}

// build assembles the image: a base layer (CA bundle, users, directories)
// that changes only with the CA bundle, and the binary's layer on top, so
// a new landfall version pushes and pulls one layer.
func build(o options) (v1.Image, error) {
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return nil, fmt.Errorf("--binary: %w", err)
	}
	arch, err := staticLinux(bin)
	if err != nil {
		return nil, fmt.Errorf("--binary %s: %w", o.binary, err)
	}
	ca, err := os.ReadFile(o.caBundle)
	if err != nil {
		return nil, fmt.Errorf("--ca-bundle: %w (install Debian's ca-certificates or pass another PEM bundle)", err)
	}
	if !bytes.Contains(ca, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("--ca-bundle %s: no PEM certificate in it", o.caBundle)
	}

	base, err := layer(o.created, []entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, data: fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", nonRoot)},
		{name: "etc/landfall/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", nonRoot, nonRoot)},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: ca},
		{name: "home/", mode: 0o755},
		{name: "home/nonroot/", mode: 0o700, uid: nonRoot},
		{name: "tmp/", mode: 0o1777},
	})
	if err != nil {
		return nil, err
	}
	// Owned by root, so the user it runs as cannot replace it.
	app, err := layer(o.created, []entry{{name: binaryPath[1:], mode: 0o755, data: bin}})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, base, app)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: o.created}
	cf.Config.User = fmt.Sprintf("%d:%d", nonRoot, nonRoot)
	cf.Config.WorkingDir = "/home/nonroot"
	cf.Config.Env = []string{"HOME=/home/nonroot", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	// The entrypoint is the binary and the default arguments run it on the
	// mounted config, so `docker run IMAGE version` and `hive ddl` work
	// without --entrypoint.
	cf.Config.Entrypoint = []string{binaryPath}
	cf.Config.Cmd = []string{"run", "--config", configPath}
	// landfall stops gracefully on SIGTERM (the default) and SIGINT.
	cf.Config.StopSignal = "SIGTERM"
	cf.Config.ExposedPorts = map[string]struct{}{"9464/tcp": {}} // metrics.listen in the examples
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":    "landfall",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.version":  o.version,
	}
	return mutate.ConfigFile(img, cf)
}

// staticLinux checks that bin is a Linux executable with no dynamic
// loader and no shared libraries, and returns its GOARCH. A cgo build
// would start on a build machine and fail on scratch with a bare "no such
// file or directory" (the missing loader): refuse it here instead.
func staticLinux(bin []byte) (string, error) {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return "", fmt.Errorf("not a Linux executable: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", errors.New("dynamically linked (it needs a loader scratch doesn't have): build with CGO_ENABLED=0")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return "", fmt.Errorf("links shared libraries %v: build with CGO_ENABLED=0", libs)
	}
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	}
	return "", fmt.Errorf("machine %v: only amd64 and arm64 images are built", f.Machine)
}

type entry struct {
	name string // relative to /, a trailing / for directories
	mode int64
	uid  int
	data []byte
}

// layer makes one image layer of entries, in name order, dated created.
func layer(created time.Time, entries []entry) (v1.Layer, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: created, Format: tar.FormatPAX}
		if e.name[len(e.name)-1] == '/' {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}
