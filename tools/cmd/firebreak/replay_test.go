package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/ingest"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
	"github.com/firebreak/firebreak/services/platform/deps/depstest"
)

func startIngestForReplay(t *testing.T) string {
	t.Helper()
	env := depstest.New(t)
	// In the twcs data a brand's account id is its handle; brand replies are
	// taken only from the brands' own accounts.
	svc, err := ingest.New(t.Context(), ingest.Config{Common: env.Common, MaxBodyBytes: 4 << 20, MaxBatch: 1000, SeenTTL: time.Hour,
		BrandAccounts: "sprintcare=x:sprintcare,AmazonHelp=x:AmazonHelp"}, env.Deps(t, "ingest"))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	t.Setenv("FIREBREAK_TOKEN", env.Token)
	return "http://" + svc.HTTPAddr()
}

func TestReplayPostsEachLayoutOnce(t *testing.T) {
	addr := startIngestForReplay(t)
	const data = "../../../services/platform/replay/testdata/"
	for _, tc := range []struct{ file, format, want string }{
		{"twcs-sample.csv", "", "new"},
		{"airline-sample.csv", "airline", "(3 new, 0 already ingested, 0 skipped)"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"replay", "--in", data + tc.file, "--format", tc.format, "--ingest", addr, "--batch", "2"}, &out, &errOut)
		if code != 0 || !strings.Contains(out.String(), tc.want) {
			t.Fatalf("%s: exit %d, out %q, err %q", tc.file, code, out.String(), errOut.String())
		}
		// Replaying again publishes nothing new.
		out.Reset()
		run(context.Background(), []string{"replay", "--in", data + tc.file, "--format", tc.format, "--ingest", addr}, &out, &errOut)
		if !strings.Contains(out.String(), "(0 new") {
			t.Fatalf("%s again: %q", tc.file, out.String())
		}
	}
}

func TestReplayBrandOverrideAndRate(t *testing.T) {
	addr := startIngestForReplay(t)
	var out, errOut bytes.Buffer
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	err := replayOn(context.Background(), clk, []string{"--in", "../../../services/platform/replay/testdata/airline-sample.csv",
		"--brand", "acme", "--rate", "20", "--batch", "1", "--ingest", addr}, &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "3 new") {
		t.Fatalf("err %v, %q %q", err, out.String(), errOut.String())
	}
	// At 20 a second with a burst of one, the first mention goes at once
	// and each of the other two waits 50ms.
	if got := clk.Sleeps(); len(got) != 2 || got[0] != 50*time.Millisecond || got[1] != 50*time.Millisecond {
		t.Fatalf("3 mentions at 20/s waited %v; want [50ms 50ms]", got)
	}
}

func TestReplaySaysWhatIsWrong(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"replay"}, &out, &errOut); code != 2 {
		t.Fatalf("no --in: exit %d", code)
	}
	if code := run(context.Background(), []string{"replay", "--in", "/nonexistent"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "open --in") {
		t.Fatalf("missing file: exit %d %q", code, errOut.String())
	}
}
