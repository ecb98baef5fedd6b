package policyfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/services/escalation/policy"
)

const doc = `lists:
  vip: vip.txt
  press: /ABS/press.txt
routes:
  - name: vip
    match: complaint && author.vip
    team: standard
    priority: HIGH
    reason: VIP
chains:
  standard:
    levels: [{receivers: [queue], ack_timeout: 30m}]
`

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestListsAreReadBesideThePolicyAndChangeTheSum(t *testing.T) {
	t.Parallel()
	dir, other := t.TempDir(), t.TempDir()
	policyPath := filepath.Join(dir, "policy.yaml")
	write(t, policyPath, strings.Replace(doc, "/ABS", other, 1))
	write(t, filepath.Join(dir, "vip.txt"), "x:1\n")
	write(t, filepath.Join(other, "press.txt"), "x:2\nx:3\n")

	first, err := Read(policyPath)
	if err != nil {
		t.Fatal(err)
	}
	p, err := first.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Lists(); len(got) != 2 || got[0].Name != "press" || got[0].Authors != 2 || got[1].Name != "vip" || got[1].Authors != 1 {
		t.Fatalf("Lists = %+v, want press (absolute path) with 2 and vip (relative) with 1", got)
	}
	again, err := Read(policyPath)
	if err != nil || again.Sum != first.Sum {
		t.Fatalf("unchanged files: sum changed (%v)", err)
	}
	write(t, filepath.Join(dir, "vip.txt"), "x:1\nx:4\n")
	changed, err := Read(policyPath)
	if err != nil || changed.Sum == first.Sum {
		t.Fatalf("a list changed and the sum did not (%v)", err)
	}
	q, err := changed.Parse()
	if err != nil || q.Version() == p.Version() {
		t.Fatalf("a list changed and the version did not: %v", err)
	}
}

func TestAMissingListIsRefusedWithItsLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	policyPath := filepath.Join(dir, "policy.yaml")
	write(t, policyPath, strings.Replace(doc, "  press: /ABS/press.txt\n", "", 1))
	_, err := Load(policyPath)
	if err == nil || !strings.Contains(err.Error(), `list "vip" (line 2): read vip.txt: open `+filepath.Join(dir, "vip.txt")) {
		t.Fatalf("Load = %v, want the list, its line and the file", err)
	}
	if _, err := Load(filepath.Join(dir, "nope.yaml")); err == nil || !strings.Contains(err.Error(), "read policy") {
		t.Fatalf("Load of a missing policy = %v", err)
	}
}

func TestDefaultIsTheOneNameOfTheShippedPolicy(t *testing.T) {
	for _, name := range []string{Default, ""} {
		p, err := Open(name)
		if err != nil || p.Version() != policy.Default().Version() {
			t.Fatalf("Open(%q): %v, version %v; want the shipped policy", name, err, p)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("a missing policy file was taken for the default")
	}
}
