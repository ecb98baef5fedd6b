package store

import (
	"testing"
	"time"
)

func TestExpiriesAreDueOncePerRefresh(t *testing.T) {
	var e Expiries
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		key   string
		after time.Duration
		due   bool
	}{
		{"a", 0, true},                 // first write
		{"a", time.Minute, false},      // within the hour
		{"b", time.Minute, true},       // another key
		{"a", 59 * time.Minute, false}, // still within the hour
		{"a", time.Hour, true},         // refreshed
		{"a", time.Hour + time.Second, false},
		{"b", 2 * time.Hour, true},    // pruned meanwhile: due again
		{"a", 30 * time.Minute, true}, // the clock went back: due
	}
	for i, s := range steps {
		if got := e.Due(s.key, now.Add(s.after)); got != s.due {
			t.Fatalf("step %d: Due(%s) at +%v = %v, want %v", i, s.key, s.after, got, s.due)
		}
	}
	if len(e.set) > 2 {
		t.Fatalf("Expiries remembers %d keys, want at most the 2 written", len(e.set))
	}
}

// After a failed round trip, every key's EXPIRE is due again with its next
// write, as a retry or a redelivery makes it.
func TestAForgottenExpiryIsDueAgain(t *testing.T) {
	var e Expiries
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if !e.Due("a", now) || e.Due("a", now.Add(time.Second)) {
		t.Fatal("a key's expiry is due with its first write only")
	}
	e.Forget()
	if !e.Due("a", now.Add(2*time.Second)) {
		t.Fatal("after Forget, the key's expiry must be due again")
	}
}
