package deliverylog

import (
	"slices"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// TestReplicasShareAReceiversRate: two replicas' logs on one Redis hand out
// one receiver's send slots in turn, so the rate holds across replicas,
// while another receiver keeps its own.
func TestReplicasShareAReceiversRate(t *testing.T) {
	client, keys := storetest.New(t)
	a, b := New(client, keys, time.Hour), New(client, keys, time.Hour)
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	var waits []time.Duration
	for _, l := range []*Log{a, b, a, b} {
		w, err := l.Reserve(t.Context(), "slack", 2, 2, now) // 2 a second, bursts of 2
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, w)
	}
	if want := []time.Duration{0, 0, 500 * time.Millisecond, time.Second}; !slices.Equal(waits, want) {
		t.Fatalf("waits = %v, want %v: the burst, then one slot every 500ms across both replicas", waits, want)
	}
	if w, err := b.Reserve(t.Context(), "pagerduty", 2, 2, now); err != nil || w != 0 {
		t.Fatalf("another receiver waits %v (%v), want its own slots", w, err)
	}
	// Once the slots taken have passed, the burst is there again.
	later := now.Add(2 * time.Second)
	if w, err := a.Reserve(t.Context(), "slack", 2, 2, later); err != nil || w != 0 {
		t.Fatalf("after the backlog passed, wait %v (%v), want 0", w, err)
	}
}

// TestRenewExtendsOnlyClaimsStillHeld: a renewal extends a held claim and
// reports one that is gone (it ran out, or was never taken).
func TestRenewExtendsOnlyClaimsStillHeld(t *testing.T) {
	client, keys := storetest.New(t)
	l := New(client, keys, time.Hour)
	if ok, err := l.Claim(t.Context(), "a", time.Second); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if ok, err := l.Renew(t.Context(), time.Minute, "a"); err != nil || !ok {
		t.Fatalf("renew a held claim: %v %v", ok, err)
	}
	if ttl := client.PTTL(t.Context(), keys.Global("notify", "claim", "a")).Val(); ttl <= time.Second {
		t.Fatalf("claim ttl %v after renewal, want about a minute", ttl)
	}
	if ok, err := l.Renew(t.Context(), time.Minute, "a", "never-claimed"); err != nil || ok {
		t.Fatalf("renew with a claim gone: %v %v, want false", ok, err)
	}
	if n := client.Exists(t.Context(), keys.Global("notify", "claim", "never-claimed")).Val(); n != 0 {
		t.Fatal("renewing a claim that was gone took it")
	}
}
