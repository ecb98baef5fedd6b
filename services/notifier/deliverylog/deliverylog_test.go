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
