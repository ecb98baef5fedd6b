// Package imagebuild assembles a service's container image from a static
// binary without a container engine: an empty base, one layer holding the
// binary, CA certificates and a passwd entry for the non-root user, and a
// config that runs the binary as 65532:65532. The result has the same layout
// as the repository's Dockerfile produces on distroless/static:nonroot (which
// adds only a link, service, to the binary as its entrypoint).
package imagebuild

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// BinDir is where the binary lives in the image, as in the Dockerfile.
	BinDir = "/usr/local/bin"
	// User is distroless's nonroot user and group; the Helm chart's
	// securityContext runs as the same numeric ids.
	User = "65532:65532"
	// DefaultSource is the org.opencontainers.image.source label's default.
	DefaultSource = "https://github.com/firebreak/firebreak"
	// caBundlePath is where Go's crypto/x509 looks first on Linux.
	caBundlePath = "/etc/ssl/certs/ca-certificates.crt"
)

// Spec describes one service image.
type Spec struct {
	// Name is the service, e.g. "ingest"; the binary is BinDir/Name.
	Name string
	// Binary is the path of a static Linux ELF binary on this machine.
	Binary string
	// Version, Revision and Source fill the org.opencontainers.image labels;
	// Version defaults to "dev" and Source to DefaultSource.
	Version  string
	Revision string
	Source   string
	// CABundle is a PEM file copied into the image so the services can call
	// HTTPS receivers and platform APIs; empty leaves it out.
	CABundle string
	// Created stamps the image and its files; the zero value uses the Unix
	// epoch so that the same inputs give the same image digest.
	Created time.Time
}

// Build returns the image for spec.
func Build(spec Spec) (v1.Image, error) {
	if spec.Name == "" || path.Base(spec.Name) != spec.Name {
		return nil, fmt.Errorf("image name %q: want a plain service name such as ingest", spec.Name)
	}
	binary, err := os.ReadFile(spec.Binary)
	if err != nil {
		return nil, fmt.Errorf("read binary for %s: %w", spec.Name, err)
	}
	arch, err := staticLinuxArch(binary)
	if err != nil {
		return nil, fmt.Errorf("binary %s for %s: %w", spec.Binary, spec.Name, err)
	}
	var caBundle []byte
	if spec.CABundle != "" {
		if caBundle, err = os.ReadFile(spec.CABundle); err != nil {
			return nil, fmt.Errorf("read CA bundle for %s: %w", spec.Name, err)
		}
	}
	if spec.Version == "" {
		spec.Version = "dev"
	}
	if spec.Source == "" {
		spec.Source = DefaultSource
	}
	created := spec.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	created = created.UTC()

	layerTar, err := rootfs(spec.Name, binary, caBundle, created)
	if err != nil {
		return nil, fmt.Errorf("layer for %s: %w", spec.Name, err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer for %s: %w", spec.Name, err)
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: "firebreak imagebuild: " + path.Join(BinDir, spec.Name),
			Comment:   "static binary, CA certificates, passwd",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("append layer for %s: %w", spec.Name, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config for %s: %w", spec.Name, err)
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture = arch
	cfg.OS = "linux"
	cfg.Created = v1.Time{Time: created}
	cfg.Config.Entrypoint = []string{path.Join(BinDir, spec.Name)}
	cfg.Config.Cmd = nil
	cfg.Config.User = User
	cfg.Config.WorkingDir = "/"
	cfg.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	cfg.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}, "9090/tcp": {}}
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       "firebreak-" + spec.Name,
		"org.opencontainers.image.description": "Firebreak " + spec.Name + " service",
		"org.opencontainers.image.version":     spec.Version,
		"org.opencontainers.image.revision":    spec.Revision,
		"org.opencontainers.image.source":      spec.Source,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.created":     created.Format(time.RFC3339),
	}
	for k, v := range cfg.Config.Labels {
		if v == "" {
			delete(cfg.Config.Labels, k)
		}
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("set config for %s: %w", spec.Name, err)
	}
	return img, nil
}

// WriteTarball writes img as a tarball that `docker load`, `podman load`,
// `kind load image-archive` and crane understand, tagged ref.
func WriteTarball(file string, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", ref, err)
	}
	if err := tarball.WriteToFile(file, tag, img); err != nil {
		return fmt.Errorf("write image %s to %s: %w", ref, file, err)
	}
	return nil
}

// staticLinuxArch checks that binary is a statically linked Linux ELF file,
// since the image has no libc and no dynamic loader, and returns its OCI
// architecture name.
func staticLinuxArch(binary []byte) (string, error) {
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		return "", fmt.Errorf("not an ELF executable (build with GOOS=linux): %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", errors.New("dynamically linked (build with CGO_ENABLED=0)")
		}
	}
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	default:
		return "", fmt.Errorf("unsupported machine %s", f.Machine)
	}
}

// rootfs returns the image's only layer as an uncompressed tar. Files belong
// to root and are not writable by the user the container runs as.
func rootfs(svc string, binary, caBundle []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	steps := []func() error{
		func() error { return dir("etc", 0o755) },
		func() error {
			return file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"))
		},
		func() error { return file("etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n")) },
		func() error { return dir("home", 0o755) },
		func() error {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "home/nonroot/", Mode: 0o700, Uid: 65532, Gid: 65532, ModTime: mtime, Format: tar.FormatPAX})
		},
		// The chart mounts an emptyDir here; without one (docker run) Go's
		// os.TempDir still has somewhere to write.
		func() error { return dir("tmp", 0o1777) },
		func() error { return dir("usr", 0o755) },
		func() error { return dir("usr/local", 0o755) },
		func() error { return dir("usr/local/bin", 0o755) },
		func() error { return file(path.Join("usr/local/bin", svc), 0o755, binary) },
	}
	if caBundle != nil {
		steps = append(steps,
			func() error { return dir("etc/ssl", 0o755) },
			func() error { return dir("etc/ssl/certs", 0o755) },
			func() error { return file(caBundlePath[1:], 0o644, caBundle) },
		)
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
