package notify_test

import (
	"slices"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/backoff"
)

func TestBurstOfCasesForOneTeamGoesOutAsOneNotification(t *testing.T) {
	cfg := notify.GroupConfig{Interval: time.Minute}
	var st notify.GroupState
	st, d := cfg.Add(st, "e1", t0)
	if !d.SendNow {
		t.Fatal("first case of a quiet team held; want it sent at once")
	}
	for i, id := range []string{"e2", "e3", "e4"} {
		st, d = cfg.Add(st, id, t0.Add(time.Duration(i+1)*time.Second))
		if d.SendNow || !d.FlushAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("%s: decision %+v, want held until %v", id, d, t0.Add(time.Minute))
		}
	}
	if cfg.Due(st, t0.Add(59*time.Second)) {
		t.Fatal("group due before its interval")
	}
	ids, st := cfg.Flush(st, t0.Add(time.Minute))
	if !slices.Equal(ids, []string{"e2", "e3", "e4"}) {
		t.Fatalf("flushed %v, want e2 e3 e4 together", ids)
	}
	// Quiet for an interval: the next case goes at once again.
	if _, d = cfg.Add(st, "e5", t0.Add(3*time.Minute)); !d.SendNow {
		t.Fatal("case after a quiet interval held; want sent at once")
	}
}

func TestGroupDecisions(t *testing.T) {
	tests := []struct {
		name     string
		cfg      notify.GroupConfig
		st       notify.GroupState
		now      time.Time
		sendNow  bool
		flushAt  time.Time
		nPending int
	}{
		{"grouping off sends at once", notify.GroupConfig{}, notify.GroupState{LastSent: t0}, t0, true, time.Time{}, 0},
		{"group wait holds first case", notify.GroupConfig{Wait: 30 * time.Second, Interval: time.Minute}, notify.GroupState{}, t0, false, t0.Add(30 * time.Second), 1},
		{"joins pending group", notify.GroupConfig{Wait: 30 * time.Second, Interval: time.Minute}, notify.GroupState{Pending: []string{"a"}, FlushAt: t0.Add(10 * time.Second)}, t0, false, t0.Add(10 * time.Second), 2},
		{"max size flushes now", notify.GroupConfig{Interval: time.Minute, MaxSize: 2}, notify.GroupState{Pending: []string{"a"}, FlushAt: t0.Add(time.Minute), LastSent: t0}, t0.Add(time.Second), false, t0.Add(time.Second), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, d := tt.cfg.Add(tt.st, "new", tt.now)
			if d.SendNow != tt.sendNow || !d.FlushAt.Equal(tt.flushAt) || len(st.Pending) != tt.nPending {
				t.Fatalf("decision %+v, pending %d; want sendNow=%v flushAt=%v pending=%d", d, len(st.Pending), tt.sendNow, tt.flushAt, tt.nPending)
			}
		})
	}
}

func TestBackoffDelayGrowsToItsCapWithJitterBelow(t *testing.T) {
	b := notify.Backoff{Policy: backoff.Policy{Initial: time.Second, Max: 5 * time.Second, Multiplier: 2, Jitter: 0.5}}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second} {
		if got := b.Delay(attempt, 0); got != want {
			t.Errorf("attempt %d: %v, want %v", attempt, got, want)
		}
		if got := b.Delay(attempt, 0.999); got <= want/2 || got > want {
			t.Errorf("attempt %d with jitter: %v, want in (%v, %v]", attempt, got, want/2, want)
		}
	}
}
