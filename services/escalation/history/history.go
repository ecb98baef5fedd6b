// Package history counts each author's complaints: how many fall in a
// sliding window, and how many came since the brand last replied (the
// unanswered streak). Book is the in-memory reference model, used by the
// backtest and by the tests of the service's Redis version.
package history

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Book keeps complaint histories per author key (platform, brand and author,
// as the caller builds it). Everything is in event time, so a replay gives the
// same answers as the live run and the order in which mentions arrive matters
// little: a complaint up to one window late is counted exactly, and only
// complaints made at or before a decision count towards it.
//
// A Book is not safe for concurrent use.
type Book struct {
	window  time.Duration
	authors map[string]*record
}

// record is one author's history.
type record struct {
	// complaints maps mention id to when it was made, so the same mention
	// counts once however often it is delivered.
	complaints map[string]time.Time
	lastReply  time.Time
	newest     time.Time
}

// NewBook returns an empty book with the given complaint window.
func NewBook(window time.Duration) *Book {
	return &Book{window: window, authors: map[string]*record{}}
}

// Window is the complaint window.
func (b *Book) Window() time.Duration { return b.window }

// Complaint records a complaint and returns the author's history as of it:
// complaints in the window ending at at, this one included, and the streak of
// complaints since the brand's last reply. Recording the same mention id again
// changes nothing and returns the history as of its first recording.
//
// A complaint more than two windows older than the author's newest is too
// late to record: it can no longer change any count that matters, and its
// history is computed from what is kept.
func (b *Book) Complaint(authorKey, mentionID string, at time.Time) *fbv1.History {
	r := b.author(authorKey)
	if first, seen := r.complaints[mentionID]; seen {
		return b.historyAt(r, first)
	}
	if r.newest.IsZero() || at.After(r.newest) {
		r.newest = at
	}
	if at.After(r.horizon(b.window)) {
		r.complaints[mentionID] = at
	}
	r.prune(b.window)
	h := b.historyAt(r, at)
	h.ComplaintsInWindow = max(h.ComplaintsInWindow, 1)
	return h
}

// BrandReply records that the brand replied to the author at at, which ends
// the unanswered streak of every complaint made before it.
func (b *Book) BrandReply(authorKey string, at time.Time) {
	r := b.author(authorKey)
	if at.After(r.lastReply) {
		r.lastReply = at
	}
	r.prune(b.window)
}

// At returns the author's history as of at without recording anything, for
// mentions that are not complaints.
func (b *Book) At(authorKey string, at time.Time) *fbv1.History {
	r, ok := b.authors[authorKey]
	if !ok {
		return &fbv1.History{WindowSeconds: int64(b.window / time.Second)}
	}
	return b.historyAt(r, at)
}

func (b *Book) author(key string) *record {
	r, ok := b.authors[key]
	if !ok {
		r = &record{complaints: map[string]time.Time{}}
		b.authors[key] = r
	}
	return r
}

// historyAt counts the complaints made at or before at.
func (b *Book) historyAt(r *record, at time.Time) *fbv1.History {
	h := &fbv1.History{WindowSeconds: int64(b.window / time.Second)}
	start := at.Add(-b.window)
	for _, t := range r.complaints {
		if t.After(at) {
			continue
		}
		if t.After(start) {
			h.ComplaintsInWindow++
		}
		if t.After(r.lastReply) {
			h.UnansweredStreak++
		}
	}
	if !r.lastReply.IsZero() {
		h.LastBrandReplyAt = timestamppb.New(r.lastReply)
	}
	return h
}

// horizon is the time at or before which complaints are forgotten once
// answered: two windows behind the newest, so a complaint up to a window late
// still finds every neighbour it needs.
func (r *record) horizon(window time.Duration) time.Time {
	return r.newest.Add(-2 * window)
}

// prune forgets complaints that can no longer change a count: answered, and
// beyond the horizon. Unanswered ones stay, since they make the streak.
func (r *record) prune(window time.Duration) {
	h := r.horizon(window)
	for id, t := range r.complaints {
		if !t.After(h) && !t.After(r.lastReply) {
			delete(r.complaints, id)
		}
	}
}
