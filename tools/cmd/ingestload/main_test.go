package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/ingest"
	"github.com/firebreak/firebreak/services/platform/deps/depstest"
)

func TestLoadReportsAcceptedMentions(t *testing.T) {
	env := depstest.New(t)
	svc, err := ingest.New(t.Context(), ingest.Config{Common: env.Common, MaxBodyBytes: 1 << 20, MaxBatch: 100, SeenTTL: time.Hour}, env.Deps(t, "ingest"))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer svc.Stop(context.Background())
	var out bytes.Buffer
	err = run(context.Background(), []string{"--ingest", "http://" + svc.HTTPAddr(), "--token", env.Token, "--mentions", "250", "--batch", "50", "--concurrency", "3"}, &out)
	if err != nil || !strings.Contains(out.String(), "accepted 250 mentions") || !strings.Contains(out.String(), "refused 0") {
		t.Fatalf("%v: %s", err, out.String())
	}
}
