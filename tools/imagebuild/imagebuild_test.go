package imagebuild_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/firebreak/firebreak/tools/imagebuild"
)

// services are the images `make images` builds.
var services = []string{"ingest", "scorer", "reach", "escalation", "notifier", "console"}

const versionFlag = "github.com/firebreak/firebreak/services/platform/config.Version"

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// goBuild compiles pkg (run in dir) into a static Linux binary at out.
func goBuild(t *testing.T, dir, pkg, out, ldflags string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

func TestStubImageRunsAsNonRootAndPrintsVersion(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("runs the image's Linux binary on this machine")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "stub")
	goBuild(t, ".", "./testdata/stub", bin, "-s -w -X main.version=1.2.3")

	img, err := imagebuild.Build(imagebuild.Spec{Name: "stub", Binary: bin, Version: "1.2.3", Revision: "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "stub.tar")
	if err := imagebuild.WriteTarball(file, "ghcr.io/firebreak/stub:1.2.3", img); err != nil {
		t.Fatal(err)
	}
	checkImageTarball(t, file, "ghcr.io/firebreak/stub:1.2.3", "stub", "stub 1.2.3")

	// The same inputs give the same image, so releases are reproducible.
	again, err := imagebuild.Build(imagebuild.Spec{Name: "stub", Binary: bin, Version: "1.2.3", Revision: "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two builds of the same binary differ: %s and %s", d1, d2)
	}
}

func TestBuildRefusesBinariesThatCannotRunOnAnEmptyBase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []imagebuild.Spec{
		{Name: "script", Binary: script},
		{Name: "../etc", Binary: script},
		{Name: "missing", Binary: filepath.Join(dir, "missing")},
	} {
		if _, err := imagebuild.Build(spec); err == nil {
			t.Errorf("Build(%+v) succeeded, want an error", spec)
		}
	}
}

// TestServiceImages builds each service's image the way `make images` does,
// from bin/<svc> when `make build` left one there and otherwise by compiling
// the service, and checks it like the stub. Tarballs already in bin/images
// (from `make images`) are checked as they are. A service whose main does
// not exist yet is skipped by name.
func TestServiceImages(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("runs the images' Linux binaries on this machine")
	}
	root := repoRoot(t)
	var missing, toCompile []string
	for _, svc := range services {
		if _, err := os.Stat(filepath.Join(root, "services", svc, "cmd", svc)); err != nil {
			missing = append(missing, svc)
			continue
		}
		if !isStaticLinux(filepath.Join(root, "bin", svc)) {
			toCompile = append(toCompile, svc)
		}
	}
	if len(missing) > 0 {
		t.Logf("no main yet for %v: not checked", missing)
	}
	compiled := t.TempDir()
	if len(toCompile) > 0 {
		// One go build for all of them shares the compilation of platform
		// and the common dependencies.
		pkgs := make([]string, len(toCompile))
		for i, svc := range toCompile {
			pkgs[i] = "./services/" + svc + "/cmd/" + svc
		}
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		args := append([]string{"build", "-trimpath", "-ldflags", "-s -w -X " + versionFlag + "=0.0.0-test", "-o", compiled + "/"}, pkgs...)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", pkgs, err, b)
		}
	}
	for _, svc := range services {
		if contains(missing, svc) {
			continue
		}
		t.Run(svc, func(t *testing.T) {
			bin := filepath.Join(root, "bin", svc)
			if contains(toCompile, svc) {
				bin = filepath.Join(compiled, svc)
			}
			img, err := imagebuild.Build(imagebuild.Spec{Name: svc, Binary: bin, Version: "test", CABundle: caBundle()})
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), svc+".tar")
			ref := "ghcr.io/firebreak/" + svc + ":test"
			if err := imagebuild.WriteTarball(file, ref, img); err != nil {
				t.Fatal(err)
			}
			checkImageTarball(t, file, ref, svc, svc+" ")

			built := filepath.Join(root, "bin", "images", svc+".tar")
			if _, err := os.Stat(built); err == nil {
				checkImageTarball(t, built, "", svc, svc+" ")
			}
		})
	}
}

// checkImageTarball reads an image back from its tarball (tagged ref, or
// its only image when ref is empty) and checks what the chart relies on:
// a numeric non-root user, the entrypoint, no shell, and a binary that
// starts and prints want for --version.
func checkImageTarball(t *testing.T, file, ref, svc, want string) {
	t.Helper()
	var tag *name.Tag
	if ref != "" {
		tg, err := name.NewTag(ref)
		if err != nil {
			t.Fatal(err)
		}
		tag = &tg
	}
	img, err := tarball.ImageFromPath(file, tag)
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != imagebuild.User {
		t.Errorf("%s: user %q, want %q (numeric, non-root)", file, cfg.Config.User, imagebuild.User)
	}
	entry := path.Join(imagebuild.BinDir, svc)
	if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != entry {
		t.Errorf("%s: entrypoint %q, want [%s]", file, cfg.Config.Entrypoint, entry)
	}
	if cfg.OS != "linux" || cfg.Architecture == "" {
		t.Errorf("%s: platform %s/%s, want linux/<arch>", file, cfg.OS, cfg.Architecture)
	}
	for _, label := range []string{"org.opencontainers.image.title", "org.opencontainers.image.version", "org.opencontainers.image.source"} {
		if cfg.Config.Labels[label] == "" {
			t.Errorf("%s: label %s missing", file, label)
		}
	}

	files := extract(t, img)
	for _, shell := range []string{"bin/sh", "bin/bash", "bin/busybox"} {
		if _, ok := files[shell]; ok {
			t.Errorf("%s: image has a shell at /%s", file, shell)
		}
	}
	hdr, ok := files[entry[1:]]
	if !ok {
		t.Fatalf("%s: no %s in the image", file, entry)
	}
	if hdr.Mode&0o111 == 0 || hdr.Mode&0o002 != 0 {
		t.Errorf("%s: %s has mode %o, want executable and not world-writable", file, entry, hdr.Mode)
	}
	bin := filepath.Join(t.TempDir(), svc)
	if err := os.WriteFile(bin, hdr.body, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := runFresh(ctx, bin, "--version")
	if err != nil {
		t.Fatalf("%s --version from %s: %v\n%s", entry, file, err, out)
	}
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("%s --version printed %q, want it to start with %q", entry, out, want)
	}
}

type entry struct {
	Mode int64
	body []byte
}

// extract flattens img's layers and returns its regular files and
// directories by path, without the leading slash.
func extract(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := map[string]entry{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		e := entry{Mode: h.Mode}
		if h.Typeflag == tar.TypeReg {
			if e.body, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
		files[strings.TrimSuffix(strings.TrimPrefix(h.Name, "/"), "/")] = e
	}
	return files
}

func isStaticLinux(file string) bool {
	_, err := imagebuild.Build(imagebuild.Spec{Name: filepath.Base(file), Binary: file})
	return err == nil
}

func caBundle() string {
	const p = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// runFresh runs a binary just written. A parallel test forking at the moment
// the file was open for writing keeps a copy of that descriptor until its
// child execs, and Linux refuses to run a file open for writing ("text file
// busy", golang.org/issue/22315); that passes within moments, so it is
// retried until ctx ends.
func runFresh(ctx context.Context, bin string, args ...string) ([]byte, error) {
	for {
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		if !errors.Is(err, syscall.ETXTBSY) || ctx.Err() != nil {
			return out, err
		}
		// A pause between retries, not a wait for a condition: nothing
		// observable says when the other process's child has exec'd.
		time.Sleep(20 * time.Millisecond)
	}
}
