package history

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

const window = 24 * time.Hour

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func TestThirdComplaintInWindow(t *testing.T) {
	t.Parallel()
	b := NewBook(window)
	b.Complaint("x:acme:a1", "m1", t0)
	b.Complaint("x:acme:a1", "m2", t0.Add(3*time.Hour))
	h := b.Complaint("x:acme:a1", "m3", t0.Add(20*time.Hour))
	if h.GetComplaintsInWindow() != 3 || h.GetUnansweredStreak() != 3 || h.GetWindowSeconds() != 86400 {
		t.Errorf("third complaint: %v, want 3 in window, streak 3, window 86400s", h)
	}
	if h := b.Complaint("x:acme:a1", "m4", t0.Add(25*time.Hour)); h.GetComplaintsInWindow() != 3 || h.GetUnansweredStreak() != 4 {
		t.Errorf("after the first left the window: %v, want 3 in window, streak 4", h)
	}
	if h := b.Complaint("x:acme:other", "m5", t0); h.GetComplaintsInWindow() != 1 {
		t.Errorf("another author: %v, want a history of its own", h)
	}
}

func TestBrandReplyEndsStreakButNotWindow(t *testing.T) {
	t.Parallel()
	b := NewBook(window)
	b.Complaint("a", "m1", t0)
	b.Complaint("a", "m2", t0.Add(time.Hour))
	b.BrandReply("a", t0.Add(2*time.Hour))
	h := b.Complaint("a", "m3", t0.Add(3*time.Hour))
	if h.GetComplaintsInWindow() != 3 || h.GetUnansweredStreak() != 1 || !h.GetLastBrandReplyAt().AsTime().Equal(t0.Add(2*time.Hour)) {
		t.Errorf("after a reply: %v, want 3 in window, streak 1, last reply at +2h", h)
	}
	if h := b.At("a", t0.Add(90*time.Minute)); h.GetComplaintsInWindow() != 2 || h.GetUnansweredStreak() != 0 {
		t.Errorf("as of before the reply: %v, want 2 in window and all answered", h)
	}
	if h := b.At("nobody", t0); h.GetComplaintsInWindow() != 0 || h.GetLastBrandReplyAt() != nil {
		t.Errorf("unknown author: %v, want an empty history", h)
	}
}

// op is one step of a generated replay.
type op struct {
	reply bool
	id    string
	at    time.Time
}

func (o op) String() string {
	if o.reply {
		return fmt.Sprintf("reply@%s", o.at.Sub(t0))
	}
	return fmt.Sprintf("%s@%s", o.id, o.at.Sub(t0))
}

// genOps draws a replay for one author: time moves forward by up to three
// hours a step (so old complaints get forgotten), a mention is up to a window late, and ids repeat (redeliveries keep
// their original time).
func genOps(t *rapid.T) []op {
	n := rapid.IntRange(1, 60).Draw(t, "n")
	clock := t0
	var ops []op
	first := map[string]time.Time{}
	for i := range n {
		clock = clock.Add(time.Duration(rapid.Int64Range(0, int64(3*time.Hour)).Draw(t, fmt.Sprintf("step%d", i))))
		late := time.Duration(rapid.Int64Range(0, int64(window)).Draw(t, fmt.Sprintf("late%d", i)))
		at := clock.Add(-late)
		if rapid.IntRange(0, 4).Draw(t, fmt.Sprintf("kind%d", i)) == 0 {
			ops = append(ops, op{reply: true, at: at})
			continue
		}
		id := fmt.Sprintf("m%d", rapid.IntRange(0, n).Draw(t, fmt.Sprintf("id%d", i)))
		if orig, ok := first[id]; ok {
			at = orig
		}
		first[id] = at
		ops = append(ops, op{id: id, at: at})
	}
	return ops
}

// model is the definition, with nothing forgotten: every complaint ever
// recorded, once per id, and the latest reply.
type model struct {
	complaints map[string]time.Time
	lastReply  time.Time
}

func (m *model) history(at time.Time) (inWindow, streak int32) {
	for _, t := range m.complaints {
		if t.After(at) {
			continue
		}
		if t.After(at.Add(-window)) {
			inWindow++
		}
		if t.After(m.lastReply) {
			streak++
		}
	}
	return inWindow, streak
}

func TestBookMatchesDefinition(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		b := NewBook(window)
		m := model{complaints: map[string]time.Time{}}
		var newest time.Time
		for i, o := range genOps(t) {
			if o.reply {
				b.BrandReply("a", o.at)
				if o.at.After(m.lastReply) {
					m.lastReply = o.at
				}
				continue
			}
			if _, ok := m.complaints[o.id]; !ok {
				m.complaints[o.id] = o.at
			}
			got := b.Complaint("a", o.id, o.at)
			if o.at.After(newest) {
				newest = o.at
			}
			if !o.at.After(newest.Add(-2 * window)) {
				continue // too late to be exact: a redelivery of a forgotten complaint
			}
			inWindow, streak := m.history(o.at)
			if got.GetComplaintsInWindow() != inWindow || got.GetUnansweredStreak() != streak {
				t.Fatalf("step %d %v: got %d in window, streak %d; want %d, %d",
					i, o, got.GetComplaintsInWindow(), got.GetUnansweredStreak(), inWindow, streak)
			}
		}
	})
}

func TestComplaintIsIdempotent(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		b := NewBook(window)
		var newest time.Time
		for _, o := range genOps(t) {
			if o.reply {
				b.BrandReply("a", o.at)
				continue
			}
			if o.at.After(newest) {
				newest = o.at
			}
			first := b.Complaint("a", o.id, o.at)
			again := b.Complaint("a", o.id, o.at)
			if !sameCounts(first, again) {
				t.Fatalf("%v recorded twice: %v then %v", o, first, again)
			}
			// A forgotten complaint redelivered too late is not recorded, so
			// At does not see it.
			recorded := o.at.After(newest.Add(-2 * window))
			if later := b.At("a", o.at); recorded && !sameCounts(first, later) {
				t.Fatalf("%v: At after recording = %v, want %v", o, later, first)
			}
		}
	})
}

func TestWindowBounds(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		b := NewBook(window)
		distinct := map[string]bool{}
		for _, o := range genOps(t) {
			if o.reply {
				b.BrandReply("a", o.at)
				continue
			}
			distinct[o.id] = true
			h := b.Complaint("a", o.id, o.at)
			if h.GetComplaintsInWindow() < 1 || int(h.GetComplaintsInWindow()) > len(distinct) {
				t.Fatalf("%v: %d in window, want between 1 and %d", o, h.GetComplaintsInWindow(), len(distinct))
			}
			if int(h.GetUnansweredStreak()) > len(distinct) || h.GetUnansweredStreak() < 0 {
				t.Fatalf("%v: streak %d beyond %d complaints", o, h.GetUnansweredStreak(), len(distinct))
			}
		}
	})
}

func TestBrandReplyResetsStreak(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		b := NewBook(window)
		ops := genOps(t)
		latest := t0
		for _, o := range ops {
			if o.reply {
				b.BrandReply("a", o.at)
			} else {
				b.Complaint("a", o.id, o.at)
			}
			if o.at.After(latest) {
				latest = o.at
			}
		}
		reply := latest.Add(time.Minute)
		b.BrandReply("a", reply)
		if h := b.At("a", reply); h.GetUnansweredStreak() != 0 {
			t.Fatalf("streak %d right after a reply to everything", h.GetUnansweredStreak())
		}
		if h := b.Complaint("a", "after-reply", reply.Add(time.Minute)); h.GetUnansweredStreak() != 1 {
			t.Fatalf("first complaint after the reply: streak %d, want 1", h.GetUnansweredStreak())
		}
	})
}

func TestTooLateComplaintIsNotRecorded(t *testing.T) {
	t.Parallel()
	b := NewBook(window)
	b.Complaint("a", "new", t0.Add(72*time.Hour))
	h := b.Complaint("a", "ancient", t0)
	if h.GetComplaintsInWindow() != 1 {
		t.Errorf("ancient complaint: %v, want it to count only itself", h)
	}
	if h := b.At("a", t0.Add(72*time.Hour)); h.GetUnansweredStreak() != 1 {
		t.Errorf("after an ancient complaint: streak %d, want 1 (not recorded)", h.GetUnansweredStreak())
	}
}

func sameCounts(a, b *fbv1.History) bool {
	return a.GetComplaintsInWindow() == b.GetComplaintsInWindow() && a.GetUnansweredStreak() == b.GetUnansweredStreak() &&
		a.GetLastBrandReplyAt().AsTime().Equal(b.GetLastBrandReplyAt().AsTime())
}
