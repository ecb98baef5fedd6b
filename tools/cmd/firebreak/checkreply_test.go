package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckReplySingleDraftFlagsAHostileReply(t *testing.T) {
	var out, errOut bytes.Buffer
	err := checkReply(context.Background(), []string{"--lexicon-only"}, strings.NewReader("That's a bit harsh. Calm down.\n"), &out, &errOut)
	if !errors.Is(err, errFlagged) {
		t.Fatalf("err = %v, want the draft flagged (exit 1)", err)
	}
	if !strings.Contains(out.String(), "not ok") || !strings.Contains(out.String(), "hostile_tone") || !strings.Contains(out.String(), `"Calm down"`) {
		t.Fatalf("output %q: want not ok and the hostile finding with its text", out.String())
	}
	out.Reset()
	err = checkReply(context.Background(), []string{"--lexicon-only"}, strings.NewReader("Sorry about that! DM us your order number and we'll chase it today."), &out, &errOut)
	if err != nil || !strings.HasPrefix(out.String(), "ok") {
		t.Fatalf("good draft: %v %q, want ok", err, out.String())
	}
}

func TestCheckReplyFileWritesOneLinePerRow(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "replies.csv")
	csv := "id,text\n1,\"Sorry for the wait, we'll refund you today.\"\n2,We're sorry you feel that way.\n3,\"We've emailed jane.doe@example.com, sorry!\"\n"
	if err := os.WriteFile(in, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(dir, "out.ndjson")
	var stdout, stderr bytes.Buffer
	err := checkReply(context.Background(), []string{"--lexicon-only", "--in", in, "--id-column", "id", "--text-column", "text", "--out", outPath}, nil, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3: %s", len(lines), data)
	}
	want := map[string]struct {
		ok   bool
		kind string
	}{"1": {true, ""}, "2": {false, "dismissive_tone"}, "3": {false, "personal_data"}}
	for _, line := range lines {
		var row struct {
			ID       string `json:"id"`
			OK       bool   `json:"ok"`
			Findings []struct {
				Kind, Severity, Reason string
				Start, End             int
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		w := want[row.ID]
		if row.OK != w.ok || row.Findings == nil {
			t.Errorf("row %s: ok %v findings %v, want ok %v and a findings list", row.ID, row.OK, row.Findings, w.ok)
		}
		found := false
		for _, f := range row.Findings {
			found = found || f.Kind == w.kind && f.Reason != "" && f.End > f.Start
		}
		if w.kind != "" && !found {
			t.Errorf("row %s: findings %+v, want %s with a reason and a span", row.ID, row.Findings, w.kind)
		}
	}
	if !strings.Contains(stderr.String(), "checked 3 replies: 2 flagged") {
		t.Errorf("summary %q", stderr.String())
	}
}

func TestEvalRepliesPrintsFlagRatesPerLabel(t *testing.T) {
	var out, errOut bytes.Buffer
	err := runEvalReplies(context.Background(), []string{"--lexicon-only", "--labelled", "../../../services/scorer/score/testdata/replies",
		"--twcs", "", "--politeness", ""}, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"twcs-labelled.csv", "own-labelled.csv", "powerless", "all bad", "good"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table has no %q:\n%s", want, out.String())
		}
	}
}
