package chaos

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/firebreak/firebreak/tools/load"
)

// Build compiles the five service binaries into dir.
func Build(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	args := []string{"build", "-o", dir + "/"}
	for _, s := range Services {
		args = append(args, "github.com/firebreak/firebreak/services/"+s+"/cmd/"+s)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %v: %w\n%s", args, err, out)
	}
	return nil
}

// Run starts the suite, runs every fault's phase, and verifies the result.
// Decisions are collected before the Redis restart, which forgets them.
func Run(ctx context.Context, opts Options) (Verdict, error) {
	bin := filepath.Join(opts.Dir, "bin")
	fmt.Fprintf(opts.Progress, "%s chaos: building the services into %s\n", time.Now().Format("15:04:05.000"), bin)
	if err := Build(ctx, bin); err != nil {
		return Verdict{}, err
	}
	opts.BinDir = bin
	s, err := Start(ctx, opts)
	if err != nil {
		return Verdict{}, err
	}
	defer s.Stop()
	gen := load.NewGenerator(opts.Corpus, load.Mix{Brand: "acme", Authors: 400, HighReach: 0.05, BrandFollowers: 203_000, Replies: 0.05,
		RunID: fmt.Sprintf("chaos%d", time.Now().Unix()), Seed: opts.Seed})

	faults := Faults()
	if opts.Only != nil {
		faults = opts.Only(faults)
	}
	var runs []PhaseRun
	decided := map[string]load.Decided{}
	collected := 0
	for _, f := range faults {
		if f.Name == redisFault {
			// The Redis restart forgets every decision: collect them first.
			if err := s.collect(ctx, runs[collected:], decided); err != nil {
				return Verdict{}, err
			}
			collected = len(runs)
		}
		runs = append(runs, s.RunPhase(ctx, gen, f))
		if err := runs[len(runs)-1].Err; err != nil {
			return Verdict{}, fmt.Errorf("phase %s: %w", f.Name, err)
		}
	}
	if err := s.collect(ctx, runs[collected:], decided); err != nil {
		return Verdict{}, err
	}
	return s.Verify(ctx, runs, decided)
}

// collect settles the pipeline and records the decisions of runs.
func (s *Suite) collect(ctx context.Context, runs []PhaseRun, into map[string]load.Decided) error {
	took, err := s.Settle(ctx)
	s.logf("pipeline settled in %s (%v)", took.Round(time.Millisecond), err)
	d, err := s.Decided(ctx, runs)
	if err != nil {
		return err
	}
	maps.Copy(into, d)
	return nil
}
