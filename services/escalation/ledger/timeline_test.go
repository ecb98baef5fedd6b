package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// TestATimelineKeepsItsLatestEntriesUpToTheCap fills a case's timeline
// past timelineCap through both ways a timeline grows: decisions on the
// author's mentions (the commit script, several events at once) and saved
// changes (the save script). It keeps the latest timelineCap entries.
func TestATimelineKeepsItsLatestEntriesUpToTheCap(t *testing.T) {
	client, keys := storetest.New(t)
	s := New(client, keys, time.Hour, time.Hour)
	ctx := context.Background()
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	l := openCase(t, s, "acme/x/ana", "standard", at)
	a := s.Author("acme/x/ana")
	_, timeline := caseKeys(s, l.Case.Id)

	const perDecision = 3
	decisions := timelineCap/perDecision + 1 // 1 + 3*334 entries: 3 past the cap
	for i := range decisions {
		id := fmt.Sprintf("x:more-%d", i)
		m := &fbv1.Mention{Id: id, Brand: "acme", Author: &fbv1.Author{Id: "ana"}, CreatedAt: timestamppb.New(at)}
		score, _ := proto.Marshal(&fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{Complaint: 1}})
		reach, _ := proto.Marshal(&fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{Followers: 1}})
		if _, err := s.Join(ctx, a, id, Part{Name: "score", Data: score, Complaint: true, At: at}, time.Hour); err != nil {
			t.Fatal(err)
		}
		j, err := s.Join(ctx, a, id, Part{Name: "reach", Data: reach, At: at}, time.Hour)
		if err != nil || !j.Ready {
			t.Fatalf("join of %s: ready %v, %v", id, j.Ready, err)
		}
		var events []*fbv1.CaseEvent
		for k := range perDecision {
			events = append(events, &fbv1.CaseEvent{Id: fmt.Sprintf("%s:%d", id, k)})
		}
		if _, err := s.Commit(ctx, a, j, &fbv1.Decision{MentionId: id}, j.Current.Case, events, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	checkTimeline(t, s, l.Case.Id, "x:more-0:2", fmt.Sprintf("x:more-%d:2", decisions-1))
	for i := range 5 {
		l, err := s.Case(ctx, l.Case.Id)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, l, l.Case, &fbv1.CaseEvent{Id: fmt.Sprintf("%s:saved-%d", l.Case.Id, i)}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	checkTimeline(t, s, l.Case.Id, "x:more-2:1", l.Case.Id+":saved-4")
	if n := client.LLen(ctx, timeline).Val(); n != timelineCap {
		t.Fatalf("the timeline's list holds %d entries, want %d", n, timelineCap)
	}
}

// checkTimeline fails unless case id's timeline holds timelineCap events,
// from first to last.
func checkTimeline(t *testing.T, s *Store, id, first, last string) {
	t.Helper()
	got, err := s.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != timelineCap || got[0].Id != first || got[len(got)-1].Id != last {
		t.Fatalf("the timeline holds %d events from %s to %s, want the latest %d: from %s to %s", len(got), got[0].Id, got[len(got)-1].Id, timelineCap, first, last)
	}
}
