package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cli runs firebreak in-process and returns its output and exit code.
func policyCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func writeIn(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const defaultCases = "../../../services/escalation/policy/testdata/default_cases.yaml"

// TestDefaultPolicyCasesHold keeps the shipped examples of the default
// policy true: a change to default.yaml that breaks one fails here.
func TestDefaultPolicyCasesHold(t *testing.T) {
	t.Parallel()
	out, errOut, code := policyCLI(t, "policy", "test", "default", "--cases", defaultCases)
	if code != 0 || !strings.Contains(out, "PASS  17 cases") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
}

func TestPolicyCheckDefaultIsClean(t *testing.T) {
	t.Parallel()
	out, _, code := policyCLI(t, "policy", "check", "../../../services/escalation/policy/default.yaml", "--strict")
	if code != 0 || !strings.Contains(out, "10 routes, 2 chains: 0 errors, 0 warnings") || !strings.Contains(out, "receivers not checked") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestPolicyCheckReportsErrorsWithRouteAndLine(t *testing.T) {
	t.Parallel()
	doc := strings.Replace(defaultPolicySource(t), "match: complaint && history.complaints_in_window >= 3",
		"match: complaint && history.complaints_in_windw >= 3", 1)
	path := writeIn(t, t.TempDir(), "policy.yaml", doc)
	out, errOut, code := policyCLI(t, "policy", "check", path)
	line := lineOf(t, doc, "history.complaints_in_windw")
	want := `error: route "repeat" (line ` + line + `): match "complaint && history.complaints_in_windw >= 3": ERROR: <input>:1:21: undefined field 'complaints_in_windw'`
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, "1 error;") || !strings.Contains(errOut, "problems found") {
		t.Fatalf("exit %d, want 1 and\n%s\ngot:\n%s%s", code, want, out, errOut)
	}
}

func TestPolicyCheckWarningsAndStrict(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	doc := strings.Replace(defaultPolicySource(t), "match: complaint && !escalated", "match: complaint && !escalated && reach.tier != TIER_LOW", 1)
	doc = strings.Replace(doc, "  - name: high-reach\n", "  - name: loud\n    match: reach.tier == TIER_HIGH\n    team: senior\n    priority: HIGH\n    reason: loud\n  - name: high-reach\n", 1)
	path := writeIn(t, dir, "policy.yaml", doc)
	out, _, code := policyCLI(t, "policy", "check", path)
	for _, want := range []string{
		`warning: route "high-reach" (line ` + lineOf(t, doc, "match: complaint && reach.tier == TIER_HIGH") + `): is never reached: route "loud"`,
		`warning: routes (line ` + lineOf(t, doc, "routes:") + `): a first complaint from a small account (40 followers, tier low, complaint 0.9, negative) opens no case on any platform`,
		"0 errors, 2 warnings",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("warnings alone exit %d, want 0", code)
	}
	if _, _, code := policyCLI(t, "policy", "check", path, "--strict"); code != 1 {
		t.Errorf("--strict with warnings exit %d, want 1", code)
	}
}

func TestPolicyCheckReceivers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	receivers := writeIn(t, dir, "receivers.yaml", `receivers:
  - name: senior-oncall
    type: pagerduty
    pagerduty: {routing_key_file: /run/secrets/not-read-by-the-check}
  - name: support-queue
    type: webhook
    webhook: {url: "https://support.example.com/hook"}
teams:
  senior:
    levels: [{level: 1, receivers: [senior-oncall]}]
`)
	out, _, code := policyCLI(t, "policy", "check", "default", "--receivers", receivers)
	doc := defaultPolicySource(t)
	for _, want := range []string{
		`error: chain "senior" (line ` + lineOf(t, doc, "receivers: [head-of-social]") + `): level 2: receiver "head-of-social" is not in the receivers file (it has senior-oncall, support-queue)`,
		`error: chain "standard" (line ` + lineOf(t, doc, "receivers: [support-lead]") + `): level 2: receiver "support-lead" is not in the receivers file`,
		"2 errors, 0 warnings",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code != 1 || strings.Contains(out, "receivers not checked") {
		t.Errorf("exit %d, want 1 and receivers checked:\n%s", code, out)
	}
}

func TestPolicyTestOneMention(t *testing.T) {
	t.Parallel()
	mention := `{"platform":"x","brand":"acme","author":{"id":"u9","handle":"dan","followers":120},"text":"@acme third time asking",` +
		`"score":{"complaint":0.9,"sentiment":"negative"},"history":{"complaints_in_window":3,"unanswered_streak":3}}`
	out, errOut, code := policyCLI(t, "policy", "test", "default", "--mention", mention)
	want := "route     repeat\nteam      senior\npriority  HIGH\nchain     senior\nreasons   repeat: third complaint in 24h, none answered\n"
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "reach tier low assessed") {
		t.Fatalf("exit %d, want\n%s\ngot:\n%s%s", code, want, out, errOut)
	}
	if _, errOut, code := policyCLI(t, "policy", "test", "default", "--mention", `{"platform":"x","text":"hi","scroe":{}}`); code != 2 || !strings.Contains(errOut, `unknown field "scroe"`) {
		t.Errorf("misspelt field: exit %d: %s", code, errOut)
	}
}

func TestPolicyTestCasesReportMismatchesAsADiff(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := writeIn(t, dir, "cases.yaml", `cases:
  - name: holds
    input: {platform: x, author: {id: "1", followers: 10}, text: "late", score: {complaint: 0.9, sentiment: negative}}
    expect: {route: standard, team: standard, priority: NORMAL}
  - name: wrong
    input: {platform: x, author: {id: "1", followers: 10}, text: "late", score: {complaint: 0.9, sentiment: negative}}
    expect: {route: repeat, team: senior, priority: high, reasons: [third complaint]}
  - name: refused
    input: {platform: myspace, text: "late"}
    expect: {escalate: false}
`)
	out, _, code := policyCLI(t, "policy", "test", "default", "--cases", cases)
	for _, want := range []string{
		"ok    holds\n",
		"FAIL  wrong (line 5)\n      - route: repeat\n      + route: standard\n      - team: senior\n      + team: standard\n      - priority: HIGH\n      + priority: NORMAL\n" +
			"      - reason containing \"third complaint\"\n      + reason complaint: complaint (likelihood 0.90, negative)\n",
		"FAIL  refused (line 8)\n      input refused: mention: platform \"myspace\" is unknown",
		"FAIL  2 of 3 cases failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks\n%s\ngot:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}

func TestPolicyTestCasesFileRefusedWithLine(t *testing.T) {
	t.Parallel()
	cases := writeIn(t, t.TempDir(), "cases.yaml", "cases:\n  - name: x\n    input: {text: hi}\n    expcet: {escalate: false}\n")
	_, errOut, code := policyCLI(t, "policy", "test", "default", "--cases", cases)
	if code != 1 || !strings.Contains(errOut, "case at line 2") || !strings.Contains(errOut, "expcet") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

func defaultPolicySource(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../../services/escalation/policy/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// lineOf is the line number, as text, of the first line containing s.
func lineOf(t *testing.T, doc, s string) string {
	t.Helper()
	for i, l := range strings.Split(doc, "\n") {
		if strings.Contains(l, s) {
			return strconv.Itoa(i + 1)
		}
	}
	t.Fatalf("%q not in the document", s)
	return ""
}

func TestPolicyCommandsReadListsBesideThePolicy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "lists"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeIn(t, dir, "lists/vip.txt", "# VIPs\nx:12345\nbluesky:did:plc:abc\n")
	doc := "lists:\n  vip: lists/vip.txt\n" + strings.Replace(defaultPolicySource(t), "routes:\n", `routes:
  - name: vip
    match: complaint && author.vip
    team: senior
    priority: CRITICAL
    reason: a VIP complains
`, 1)
	path := writeIn(t, dir, "policy.yaml", doc)
	out, _, code := policyCLI(t, "policy", "check", path)
	if code != 0 || !strings.Contains(out, `list "vip" (lists/vip.txt): 2 authors`) || !strings.Contains(out, "11 routes, 2 chains: 0 errors, 0 warnings") {
		t.Fatalf("check exit %d:\n%s", code, out)
	}
	mention := `{"platform":"x","author":{"id":"12345","handle":"mayor","followers":90},"text":"@acme my bin was not collected","score":{"complaint":0.8,"sentiment":"negative"}}`
	out, errOut, code := policyCLI(t, "policy", "test", path, "--mention", mention)
	if code != 0 || !strings.Contains(out, "route     vip\n") || !strings.Contains(out, "lists     vip (author.vip true)") {
		t.Fatalf("test exit %d:\n%s%s", code, out, errOut)
	}
	writeIn(t, dir, "lists/vip.txt", "x:12345\ntwitter @mayor\n")
	out, _, code = policyCLI(t, "policy", "check", path)
	if code != 1 || !strings.Contains(out, `error: list "vip" (line 2): lists/vip.txt line 2: "twitter @mayor": want platform:id`) {
		t.Fatalf("a broken list: exit %d:\n%s", code, out)
	}
}
