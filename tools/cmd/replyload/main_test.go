package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestReplyloadReportsPercentilesOfTheInProcessCheck(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--requests", "200", "--warmup", "10"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"POST /v1/replies/check", "280-character", "200 requests", "p50", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report %q has no %q", out.String(), want)
		}
	}
}

func TestReplyloadRefusesTooFewRequestsForAP99(t *testing.T) {
	if err := run(context.Background(), []string{"--requests", "10"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "at least 100") {
		t.Fatalf("err = %v, want a refusal naming the minimum", err)
	}
}
