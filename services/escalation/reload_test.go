package escalation

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// TestVIPListChangeReloadsThePolicy: editing a list file the policy names
// is picked up like an edit of the policy itself, and a broken list keeps
// the running policy.
func TestVIPListChangeReloadsThePolicy(t *testing.T) {
	r := newRig(t, 1)
	vip := filepath.Join(filepath.Dir(r.policyPath), "vip.txt")
	if err := writeFile(vip, "# nobody yet\n"); err != nil {
		t.Fatal(err)
	}
	withList := "lists:\n  vip: vip.txt\n" + strings.Replace(fastPolicy, "routes:\n", `routes:
  - name: vip
    match: complaint && author.vip
    team: senior
    priority: CRITICAL
    reason: a VIP complains
`, 1)
	v0 := r.svc[0].policy.Load().Version()
	if err := writeFile(r.policyPath, withList); err != nil {
		t.Fatal(err)
	}
	v1 := r.waitVersionChange(v0)
	decide := func(id string) *fbv1.Decision {
		m := mention(id, "dan", 10, time.Now())
		r.send(scored(m, 0.9), 1)
		r.send(reached(m, fbv1.Tier_TIER_LOW), 1)
		return r.decision(id)
	}
	if d := decide("x:before-vip"); d.Team != "standard" {
		t.Fatalf("before dan is a VIP: team %q, want standard", d.Team)
	}
	if err := writeFile(vip, "x:dan\n"); err != nil {
		t.Fatal(err)
	}
	v2 := r.waitVersionChange(v1)
	if d := decide("x:after-vip"); d.Team != "senior" || d.Priority != fbv1.Priority_PRIORITY_CRITICAL || d.PolicyVersion != v2 {
		t.Fatalf("after dan is a VIP: team %q priority %v version %s, want senior CRITICAL %s", d.Team, d.Priority, d.PolicyVersion, v2)
	}
	// A reloader of our own, run by hand, so the refusal is known to have
	// been looked at rather than waited for.
	check, err := r.svc[0].newReloader("live", r.policyPath, &r.svc[0].policy, &r.svc[0].liveState)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(vip, "x:dan\nmyspace:1\n"); err != nil {
		t.Fatal(err)
	}
	check.Do(context.Background())
	if got := r.svc[0].policy.Load().Version(); got != v2 {
		t.Fatalf("a broken list replaced the running policy: %s -> %s", v2, got)
	}
	// The policy page hears of the refusal, and of what still runs.
	st, err := r.svc[0].GetPolicyStatus(context.Background(), &fbv1.GetPolicyStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Live.Version != v2 || st.Live.File != r.policyPath || st.Live.Refused == "" || st.Live.RefusedAt == nil || st.Live.Source == "" {
		t.Fatalf("policy status after a refused reload: %v", st.Live)
	}
}

func (r *rig) waitVersionChange(from string) string {
	r.t.Helper()
	var v string
	testkit.Eventually(r.t, "the policy reloaded from version "+from, func() bool {
		v = r.svc[0].policy.Load().Version()
		return v != from
	})
	return v
}
