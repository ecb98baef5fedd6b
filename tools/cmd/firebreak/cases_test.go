package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/services/platform/testkit"
)

func TestCaseCommandsAgainstARunningFirebreak(t *testing.T) {
	st, _ := startFirebreak(t, map[string][]string{"reach": {"--brand-followers=acme=203000"}})
	body := `{"platform":"x","platform_id":"cli-1","brand":"acme","author":{"id":"u9","handle":"dan","followers":332000},"text":"@acme my flight was cancelled and nobody answers. Awful."}`
	req, _ := http.NewRequest(http.MethodPost, "http://"+st.Ingest.HTTPAddr()+"/v1/mentions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+st.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("post: %v %v", resp, err)
	}
	addr := "--escalation=" + st.Escalation.GRPCAddr()
	t.Setenv("FIREBREAK_TOKEN", "")
	t.Setenv("FIREBREAK_TOKEN_FILE", "")
	cli := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append(args, addr), &out, &errOut)
		return out.String() + errOut.String(), code
	}

	var noToken bytes.Buffer
	if code := run(context.Background(), []string{"cases", "list", addr}, io.Discard, &noToken); code != 1 || !strings.Contains(noToken.String(), "no token: set FIREBREAK_TOKEN") || !strings.Contains(noToken.String(), "make run") {
		t.Fatalf("without a token the CLI must fail and say how to get one (exit %d): %s", code, noToken.String())
	}
	t.Setenv("FIREBREAK_TOKEN", st.Token)

	var list string
	if !testkit.Within(testkit.Deadline, func() bool { list, _ = cli("cases", "list"); return strings.Contains(list, "@dan") }) {
		t.Fatalf("no case listed: %s", list)
	}
	id := regexp.MustCompile(`[0-9a-f]{16}-\d+`).FindString(list)
	if !strings.Contains(list, "senior") || id == "" {
		t.Fatalf("list: %s", list)
	}
	if out, code := cli("cases", "get", id); code != 0 || !strings.Contains(out, "332,000 followers, 1.6x the brand's 203,000") {
		t.Fatalf("get (exit %d): %s", code, out)
	}
	if out, code := cli("explain", "x:cli-1"); code != 0 || !strings.Contains(out, "escalated to senior") {
		t.Fatalf("explain (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "ack", id, "--note", "calling him"); code != 0 || !strings.Contains(out, "acknowledged") {
		t.Fatalf("ack (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "get", id); code != 0 || !strings.Contains(out, "by local-admin (api-key)") {
		t.Fatalf("the timeline must name who acknowledged, as authenticated (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "ack", id); code != 1 || !strings.Contains(out, "FailedPrecondition") {
		t.Fatalf("second ack (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "assign", id); code != 0 || !strings.Contains(out, "acknowledged, assigned to local-admin") {
		t.Fatalf("assign to me (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "assign", id, "--to", "Ben Okafor", "--note", "he knows the area"); code != 0 || !strings.Contains(out, "assigned to Ben Okafor") {
		t.Fatalf("assign to ben (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "list", "--assignee", "Ben Okafor"); code != 0 || !strings.Contains(out, id) {
		t.Fatalf("list --assignee (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "snooze", id, "--for", "1h"); code != 0 || !strings.Contains(out, "snoozed until") {
		t.Fatalf("snooze (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "snooze", id, "--for", "200h"); code != 1 || !strings.Contains(out, "InvalidArgument") || !strings.Contains(out, "snooze for 1 minute to 168 hours") {
		t.Fatalf("snooze too long (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "snooze", id); code != 2 || !strings.Contains(out, "--for 1h") {
		t.Fatalf("snooze without a time (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "snooze", id, "--off"); code != 0 || strings.Contains(out, "snoozed") {
		t.Fatalf("unsnooze (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "reopen", id); code != 1 || !strings.Contains(out, "FailedPrecondition") || !strings.Contains(out, "only resolved cases can be reopened") {
		t.Fatalf("reopen of an open case (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "resolve", id); code != 0 || !strings.Contains(out, "resolved") {
		t.Fatalf("resolve (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "reopen", id, "--note", "he wrote again"); code != 0 || !strings.Contains(out, "is now open") {
		t.Fatalf("reopen (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "get", id); code != 0 || !strings.Contains(out, "reopened") || !strings.Contains(out, "by local-admin (api-key): he wrote again") {
		t.Fatalf("the timeline must show the reopening and who did it (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "get", "not-an-id"); code != 1 || !strings.Contains(out, "InvalidArgument") {
		t.Fatalf("bad id (exit %d): %s", code, out)
	}
	if out, code := cli("cases", "list", "--state", "sleepy"); code != 2 || !strings.Contains(out, "use open, acknowledged or resolved") {
		t.Fatalf("bad state (exit %d): %s", code, out)
	}
}
