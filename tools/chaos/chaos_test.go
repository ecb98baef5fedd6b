//go:build chaos

package chaos

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/firebreak/firebreak/tools/load"
)

// TestEveryFaultLosesNothingAndDoublesNothing is the chaos suite in short
// phases: go test -tags chaos -timeout 15m ./tools/chaos. `make chaos`
// runs the full-length version.
func TestEveryFaultLosesNothingAndDoublesNothing(t *testing.T) {
	corpus, err := load.ReadCorpus("../../../shared/data/airline-sentiment/train.csv", "../../../shared/data/customer-support-on-twitter/twcs-5000.csv")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	v, err := Run(ctx, Options{Dir: t.TempDir(), Corpus: corpus, Rate: 20, PhaseLength: 8 * time.Second, Settle: 2 * time.Minute, Seed: 1, Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	v.Print(os.Stderr)
	if len(v.Failures) > 0 {
		t.Fatalf("faults that lost or doubled something: %v", v.Failures)
	}
}
