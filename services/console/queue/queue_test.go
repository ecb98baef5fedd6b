package queue

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

var epoch = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// open makes an open case opened minutes after epoch and last updated at
// updated minutes.
func open(id string, p fbv1.Priority, opened, updated int) *fbv1.Case {
	return &fbv1.Case{Id: id, Priority: p, State: fbv1.CaseState_CASE_STATE_OPEN, Team: "senior", Brand: "acme",
		Platform: fbv1.Platform_PLATFORM_X, Author: &fbv1.Author{Handle: "h-" + id, Name: "Name " + id},
		OpenedAt:  timestamppb.New(epoch.Add(time.Duration(opened) * time.Minute)),
		UpdatedAt: timestamppb.New(epoch.Add(time.Duration(updated) * time.Minute))}
}

func ids(p Page) []string {
	out := make([]string, len(p.Cases))
	for i, c := range p.Cases {
		out[i] = c.Id
	}
	return out
}

func TestQueueOrdersByPriorityThenOldestFirst(t *testing.T) {
	b := New()
	b.Apply(open("normal-old", fbv1.Priority_PRIORITY_NORMAL, 0, 0))
	b.Apply(open("critical-new", fbv1.Priority_PRIORITY_CRITICAL, 30, 30))
	b.Apply(open("critical-old", fbv1.Priority_PRIORITY_CRITICAL, 10, 40))
	b.Apply(open("high", fbv1.Priority_PRIORITY_HIGH, 5, 5))
	got := ids(b.Find(Query{}))
	want := []string{"critical-old", "critical-new", "high", "normal-old"}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestQueueFilters(t *testing.T) {
	b := New()
	acked := open("acked", fbv1.Priority_PRIORITY_HIGH, 1, 1)
	acked.State, acked.AcknowledgedBy = fbv1.CaseState_CASE_STATE_ACKNOWLEDGED, "ana"
	mastodon := open("masto", fbv1.Priority_PRIORITY_NORMAL, 2, 2)
	mastodon.Platform, mastodon.Brand, mastodon.Team = fbv1.Platform_PLATFORM_MASTODON, "globex", "standard"
	mastodon.Author = &fbv1.Author{Handle: "Dan@social.example", Name: "Daniel"}
	rival := open("rival", fbv1.Priority_PRIORITY_CRITICAL, 3, 3)
	rival.Reach = &fbv1.Reach{Tier: fbv1.Tier_TIER_RIVAL}
	for _, c := range []*fbv1.Case{acked, mastodon, rival} {
		b.Apply(c)
	}
	cases := []struct {
		name string
		q    Query
		want []string
	}{
		{"everything", Query{}, []string{"rival", "acked", "masto"}},
		{"team", Query{Team: "standard"}, []string{"masto"}},
		{"brand", Query{Brand: "acme"}, []string{"rival", "acked"}},
		{"platform", Query{Platform: fbv1.Platform_PLATFORM_MASTODON}, []string{"masto"}},
		{"priority", Query{Priority: fbv1.Priority_PRIORITY_HIGH}, []string{"acked"}},
		{"state", Query{State: fbv1.CaseState_CASE_STATE_OPEN}, []string{"rival", "masto"}},
		{"reach tier", Query{Tier: fbv1.Tier_TIER_RIVAL}, []string{"rival"}},
		{"taken by", Query{TakenBy: "ana"}, []string{"acked"}},
		{"handle ignores case and a leading @", Query{Handle: "@dan@SOCIAL"}, []string{"masto"}},
		{"name", Query{Handle: "daniel"}, []string{"masto"}},
		{"nothing", Query{Handle: "nobody"}, []string{}},
		{"combined", Query{Brand: "acme", State: fbv1.CaseState_CASE_STATE_ACKNOWLEDGED}, []string{"acked"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.Find(tc.q)
			if got := ids(p); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if p.Total != len(tc.want) {
				t.Fatalf("total %d, want %d", p.Total, len(tc.want))
			}
		})
	}
	p := b.Find(Query{})
	if !slices.Equal(p.Facets.Teams, []string{"senior", "standard"}) || !slices.Equal(p.Facets.Brands, []string{"acme", "globex"}) ||
		!slices.Equal(p.Facets.TakenBy, []string{"ana"}) {
		t.Fatalf("facets %+v", p.Facets)
	}
}

func TestQueuePagesCoverEveryCaseOnce(t *testing.T) {
	b := New()
	for i := range 125 {
		b.Apply(open(fmt.Sprintf("c%03d", i), fbv1.Priority_PRIORITY_HIGH, i, i))
	}
	var seen []string
	for offset := 0; ; offset += 50 {
		p := b.Find(Query{Offset: offset, Limit: 50})
		if p.Total != 125 {
			t.Fatalf("total %d", p.Total)
		}
		if len(p.Cases) == 0 {
			break
		}
		seen = append(seen, ids(p)...)
	}
	if len(seen) != 125 || seen[0] != "c000" || seen[124] != "c124" {
		t.Fatalf("pages gave %d cases, %v ... %v", len(seen), seen[0], seen[len(seen)-1])
	}
	if p := b.Find(Query{Offset: 1000}); len(p.Cases) != 0 || p.Offset != 125 {
		t.Fatalf("a page past the end: %d cases at %d", len(p.Cases), p.Offset)
	}
	for i := range 300 {
		b.Apply(open(fmt.Sprintf("more%03d", i), fbv1.Priority_PRIORITY_LOW, i, i))
	}
	if p := b.Find(Query{Limit: 10_000}); len(p.Cases) != MaxLimit {
		t.Fatalf("a page of 10,000 gave %d cases, want the bound %d", len(p.Cases), MaxLimit)
	}
}

func TestQueueIgnoresAnOlderCopyOfACase(t *testing.T) {
	b := New()
	newer := open("c", fbv1.Priority_PRIORITY_CRITICAL, 0, 10)
	b.Apply(newer)
	if b.Apply(open("c", fbv1.Priority_PRIORITY_NORMAL, 0, 5)) {
		t.Fatal("an older copy changed the board")
	}
	if c, _ := b.Case("c"); c.Priority != fbv1.Priority_PRIORITY_CRITICAL {
		t.Fatalf("priority %v after an older copy", c.Priority)
	}
}

func TestResolvedCaseLeavesAndAListingReadBeforeDoesNotBringItBack(t *testing.T) {
	b := New()
	b.Apply(open("c", fbv1.Priority_PRIORITY_HIGH, 0, 0))
	mark := b.Mark()
	stale := open("c", fbv1.Priority_PRIORITY_HIGH, 0, 1) // listed while it was open
	resolved := open("c", fbv1.Priority_PRIORITY_HIGH, 0, 2)
	resolved.State = fbv1.CaseState_CASE_STATE_RESOLVED
	b.Apply(resolved)
	b.Load([]*fbv1.Case{stale}, mark)
	if _, ok := b.Case("c"); ok || b.Len() != 0 {
		t.Fatal("a listing read before the resolution brought the case back")
	}
}

func TestLoadKeepsEventsThatArrivedWhileListing(t *testing.T) {
	b := New()
	b.Apply(open("gone-meanwhile", fbv1.Priority_PRIORITY_LOW, 0, 0))
	mark := b.Mark()
	b.Apply(open("new", fbv1.Priority_PRIORITY_CRITICAL, 5, 5))
	raised := open("raised", fbv1.Priority_PRIORITY_CRITICAL, 1, 9)
	b.Apply(raised)
	// The listing was read before "new" opened and "raised" was raised,
	// and after "gone-meanwhile" was resolved elsewhere (it is not listed).
	b.Load([]*fbv1.Case{open("raised", fbv1.Priority_PRIORITY_NORMAL, 1, 1), open("listed", fbv1.Priority_PRIORITY_HIGH, 2, 2)}, mark)
	got := ids(b.Find(Query{}))
	want := []string{"raised", "new", "listed"}
	if !slices.Equal(got, want) {
		t.Fatalf("after load: %v, want %v", got, want)
	}
	if c, _ := b.Case("raised"); c.Priority != fbv1.Priority_PRIORITY_CRITICAL {
		t.Fatal("the listing's older copy replaced a newer event")
	}
}
