// Command imagebuild writes one image tarball per service from the static
// binaries that `make build` leaves in bin/, with no container engine:
//
//	GOOS=linux CGO_ENABLED=0 make build
//	go run ./tools/cmd/imagebuild -version v0.3.0 ingest scorer reach escalation notifier
//
// writes bin/images/<svc>.tar, tagged <repo>/<svc>:<version>, loadable with
// `docker load -i`, `podman load -i` or `kind load image-archive`.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/firebreak/firebreak/tools/imagebuild"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("imagebuild", flag.ContinueOnError)
	binDir := fs.String("bin-dir", "bin", "directory holding the static binaries, one per service")
	outDir := fs.String("out-dir", filepath.Join("bin", "images"), "directory to write <service>.tar into")
	repo := fs.String("repo", "ghcr.io/firebreak", "image repository prefix; images are tagged <repo>/<service>:<version>")
	version := fs.String("version", "dev", "image version: tag and org.opencontainers.image.version label")
	revision := fs.String("revision", "", "VCS revision for the org.opencontainers.image.revision label")
	source := fs.String("source", imagebuild.DefaultSource, "org.opencontainers.image.source label")
	caBundle := fs.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM CA bundle to put in the images (empty: none)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: imagebuild [flags] service...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("name at least one service")
	}
	created, err := sourceDateEpoch()
	if err != nil {
		return err
	}
	if *caBundle != "" {
		if _, err := os.Stat(*caBundle); err != nil {
			return fmt.Errorf("CA bundle: %w (install ca-certificates, or pass -ca-bundle '')", err)
		}
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	for _, svc := range fs.Args() {
		img, err := imagebuild.Build(imagebuild.Spec{
			Name:     svc,
			Binary:   filepath.Join(*binDir, svc),
			Version:  *version,
			Revision: *revision,
			Source:   *source,
			CABundle: *caBundle,
			Created:  created,
		})
		if err != nil {
			return err
		}
		ref := fmt.Sprintf("%s/%s:%s", *repo, svc, *version)
		file := filepath.Join(*outDir, svc+".tar")
		if err := imagebuild.WriteTarball(file, ref, img); err != nil {
			return err
		}
		digest, err := img.Digest()
		if err != nil {
			return err
		}
		info, err := os.Stat(file)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%.1f MiB\n", file, ref, digest, float64(info.Size())/(1<<20))
	}
	return nil
}

// sourceDateEpoch honours SOURCE_DATE_EPOCH (reproducible-builds.org), so a
// release can stamp its commit time; unset, images carry the Unix epoch and
// are reproducible from the same binaries.
func sourceDateEpoch() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Time{}, nil
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since the epoch", v)
	}
	return time.Unix(secs, 0), nil
}
