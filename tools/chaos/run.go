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
// Each phase's decisions are collected once the pipeline has settled after
// it, before the next fault; at the end every decision is asked for again,
// so one a later fault made escalation forget is reported.
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
	for _, f := range faults {
		run := s.RunPhase(ctx, gen, f)
		if run.Err != nil {
			return Verdict{}, fmt.Errorf("phase %s: %w", f.Name, run.Err)
		}
		runs = append(runs, run)
		if err := s.collect(ctx, []PhaseRun{run}, decided); err != nil {
			return Verdict{}, err
		}
	}
	// The last cases' chains fire for a while yet: wait them out, so every
	// level the checker expects had its time to page.
	s.logf("waiting %s for the last chains to fire", ChainSpan())
	select {
	case <-time.After(ChainSpan()):
	case <-ctx.Done():
		return Verdict{}, ctx.Err()
	}
	took, err := s.Settle(ctx)
	s.logf("pipeline settled in %s (%v)", took.Round(time.Millisecond), err)
	later, err := s.Decided(ctx, runs, 0)
	if err != nil {
		return Verdict{}, err
	}
	if opts.Progress != nil {
		s.PrintTimings(opts.Progress)
	}
	ob, err := s.Observe(ctx)
	if err != nil {
		return Verdict{}, err
	}
	ob.Decided, ob.Later = decided, later
	return Check(runs, ob, s.routing), nil
}

// collect settles the pipeline and records the decisions of runs.
func (s *Suite) collect(ctx context.Context, runs []PhaseRun, into map[string]load.Decided) error {
	took, err := s.Settle(ctx)
	s.logf("pipeline settled in %s (%v)", took.Round(time.Millisecond), err)
	d, err := s.Decided(ctx, runs, 20*time.Second)
	if err != nil {
		return err
	}
	maps.Copy(into, d)
	return nil
}
