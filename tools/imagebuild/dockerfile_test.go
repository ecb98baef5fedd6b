package imagebuild_test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/tools/imagebuild"
)

// TestDockerfileBuildsEachServiceFromWhatItCopies checks the one
// Dockerfile, for each service named by its SERVICE build argument, without
// a container engine: the final stage is a shell-less base run as a numeric
// non-root user whose entrypoint links to the service's binary, and the
// files its COPY instructions take from the context are enough to build the
// service (a go build in a directory holding only those files).
func TestDockerfileBuildsEachServiceFromWhatItCopies(t *testing.T) {
	// Not parallel: this and TestServiceImages compile the same packages
	// with the same flags, and two go builds at once do not share their
	// work. One after the other, the second finds them in the build cache:
	// on a fresh machine the pair took 159 s instead of 247 s.
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := string(b)
	for _, svc := range services {
		if !strings.Contains(dockerfile, "|"+svc+"|") && !strings.Contains(dockerfile, "in "+svc+"|") && !strings.Contains(dockerfile, "|"+svc+")") {
			t.Errorf("the Dockerfile's SERVICE check does not take %s", svc)
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(root, "services", "*", "Dockerfile")); len(matches) > 0 {
		t.Errorf("per-service Dockerfiles %v beside the one at the root: build with --build-arg SERVICE instead", matches)
	}
	for _, svc := range services {
		t.Run(svc, func(t *testing.T) {
			instrs := instructions(strings.ReplaceAll(dockerfile, "${SERVICE}", svc))
			final := 0
			for i, in := range instrs {
				if in[0] == "FROM" {
					final = i
				}
			}
			base := instrs[final][1]
			if !strings.HasPrefix(base, "gcr.io/distroless/static") || !strings.Contains(base, "nonroot") && base != "scratch" {
				t.Errorf("final base %s, want distroless/static nonroot or scratch", base)
			}
			var user, entrypoint, build string
			var sources []string
			for i, in := range instrs {
				switch {
				case i > final && in[0] == "RUN":
					t.Errorf("RUN in the final stage needs a shell: %v", in)
				case i > final && in[0] == "USER":
					user = in[1]
				case i > final && in[0] == "ENTRYPOINT":
					entrypoint = strings.Join(in[1:], " ")
				case i < final && in[0] == "RUN" && slices.Contains(in, "build"):
					build = strings.Join(in, " ")
				case in[0] == "COPY" && !strings.HasPrefix(in[1], "--from"):
					for _, arg := range in[1 : len(in)-1] {
						if !strings.HasPrefix(arg, "--") {
							sources = append(sources, arg)
						}
					}
				}
			}
			if user != "65532:65532" {
				t.Errorf("final USER %q, want 65532:65532", user)
			}
			// The entrypoint is a link to the binary, which keeps the
			// service's name and imagebuild's place (BinDir/Name).
			if want := `["/usr/local/bin/service"]`; entrypoint != want {
				t.Errorf("ENTRYPOINT %s, want %s", entrypoint, want)
			}
			for _, want := range []string{"-o /out/" + svc + " ./services/" + svc + "/cmd/" + svc, "ln -s " + svc + " /out/service"} {
				if !strings.Contains(build, want) {
					t.Errorf("the build step %q does not contain %q", build, want)
				}
			}
			if !slices.ContainsFunc(instrs[final:], func(in []string) bool {
				return in[0] == "COPY" && in[1] == "--from=build" && in[2] == "/out/" && in[3] == imagebuild.BinDir+"/"
			}) {
				t.Errorf("the final stage does not copy the binary and its link into %s", imagebuild.BinDir)
			}

			ctxDir := t.TempDir()
			for _, src := range sources {
				matches, err := filepath.Glob(filepath.Join(root, src))
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range matches {
					copyTree(t, m, filepath.Join(ctxDir, strings.TrimPrefix(m, root)))
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			bin := filepath.Join(t.TempDir(), svc)
			cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X "+versionFlag+"=docker", "-o", bin, "./services/"+svc+"/cmd/"+svc)
			cmd.Dir = ctxDir
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=", "GOFLAGS=-mod=readonly")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build from the Dockerfile's COPY sources: %v\n%s", err, out)
			}
			out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
			if err != nil || !strings.HasPrefix(string(out), svc+" docker") {
				t.Errorf("%s --version: %q, %v", svc, out, err)
			}
		})
	}
}

// instructions splits a Dockerfile into instructions (keyword upper-cased,
// then its whitespace-separated arguments), joining continued lines and
// dropping comments.
func instructions(dockerfile string) [][]string {
	joined := regexp.MustCompile(`\\\n`).ReplaceAllString(dockerfile, " ")
	var out [][]string
	for _, line := range strings.Split(joined, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		f[0] = strings.ToUpper(f[0])
		if f[0] == "ENTRYPOINT" {
			f = []string{f[0], strings.TrimSpace(strings.TrimPrefix(line, strings.Fields(line)[0]))}
		}
		out = append(out, f)
	}
	return out
}

// copyTree copies a file or directory as the Docker context would, leaving
// out what .dockerignore leaves out (tests and testdata).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == "testdata" || d.Name() == "bin" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if strings.HasSuffix(p, "_test.go") || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}
