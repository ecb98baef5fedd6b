package ledger

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

func caseKeys(s *Store, id string) (caseKey, timeline string) {
	tag, n, _ := cases.ParseID(id)
	a := Author{Tag: tag, s: s}
	return a.key("cases", strconv.FormatInt(n, 10)), a.key("timeline", strconv.FormatInt(n, 10))
}

func TestResolvedCaseExpiresAfterItsRetentionAndLeavesTheIndexes(t *testing.T) {
	client, keys := storetest.New(t)
	s := New(client, keys, time.Hour, time.Hour)
	ctx := context.Background()
	at := time.Now().Add(-100 * 24 * time.Hour)
	ana := openCase(t, s, "acme/x/ana", "standard", at)
	ben := openCase(t, s, "acme/x/ben", "standard", at) // open for 100 days: kept
	cid := openCase(t, s, "acme/x/cid", "standard", at)

	// resolve saves the case resolved; it does not read it back, since a
	// short retention may already have expired it on a loaded machine.
	resolve := func(l Loaded) {
		t.Helper()
		c := proto.Clone(l.Case).(*fbv1.Case)
		c.State = fbv1.CaseState_CASE_STATE_RESOLVED
		if err := s.Save(ctx, l, c, &fbv1.CaseEvent{Id: c.Id + ":resolved"}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}

	// A case resolved and reopened within the retention is kept again.
	s.Retention = time.Hour
	resolve(cid)
	l, err := s.Case(ctx, cid.Case.Id)
	if err != nil {
		t.Fatal(err)
	}
	caseKey, timeline := caseKeys(s, cid.Case.Id)
	if ttl := client.PTTL(ctx, caseKey).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("a resolved case's key expires in %v, want within the retention of 1h", ttl)
	}
	if ttl := client.PTTL(ctx, timeline).Val(); ttl <= 0 {
		t.Fatalf("a resolved case's timeline expires in %v, want with the case", ttl)
	}
	reopened := proto.Clone(l.Case).(*fbv1.Case)
	reopened.State = fbv1.CaseState_CASE_STATE_OPEN
	if err := s.Save(ctx, l, reopened, &fbv1.CaseEvent{Id: "reopened"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if a, b := client.PTTL(ctx, caseKey).Val(), client.PTTL(ctx, timeline).Val(); a != -1 || b != -1 {
		t.Fatalf("a reopened case's key and timeline expire in %v and %v, want never", a, b)
	}

	// Resolved, its retention passes: its keys go, and a trim drops it
	// from every index; the case open as long stays.
	s.Retention = 50 * time.Millisecond
	resolve(ana)
	caseKey, timeline = caseKeys(s, ana.Case.Id)
	testkit.Eventually(t, "the resolved case's keys to expire", func() bool {
		return client.Exists(ctx, caseKey, timeline).Val() == 0
	})
	if ttl := client.PTTL(ctx, func() string { k, _ := caseKeys(s, ben.Case.Id); return k }()).Val(); ttl != -1 {
		t.Fatalf("an open case's key expires in %v, want never", ttl)
	}
	dropped, err := s.TrimCaseIndexes(ctx, time.Now(), 1) // a batch of 1: the open case does not stop the pass
	if err != nil {
		t.Fatal(err)
	}
	if dropped != 1 {
		t.Fatalf("the trim dropped %d cases, want the expired one", dropped)
	}
	if got := listIDs(t, s, Filter{}); !slices.Equal(got, []string{cid.Case.Id, ben.Case.Id}) && !slices.Equal(got, []string{ben.Case.Id, cid.Case.Id}) {
		t.Errorf("cases list %v after the trim, want the two kept", got)
	}
	if n := indexed(t, s, "team", "standard"); n != 2 {
		t.Errorf("the team index holds %d cases, want 2", n)
	}
	if n := indexed(t, s, "state", enumValue(int32(fbv1.CaseState_CASE_STATE_RESOLVED))); n != 0 {
		t.Errorf("the resolved state's index holds %d cases, want the expired one gone", n)
	}
	if again, _ := s.TrimCaseIndexes(ctx, time.Now(), 1); again != 0 {
		t.Errorf("a second trim dropped %d, want nothing left to drop", again)
	}
}

func TestUnansweredStreakKeepsItsOldestAndAThousandAtMost(t *testing.T) {
	client, keys := storetest.New(t)
	s := New(client, keys, time.Hour, time.Hour)
	ctx := context.Background()
	a := s.Author("acme/x/loud")
	start := time.Now().Add(-time.Hour)
	const n = 1010
	for i := range n {
		at := start.Add(time.Duration(i) * time.Millisecond)
		id := fmt.Sprintf("x:loud-%d", i)
		m := &fbv1.Mention{Id: id, Brand: "acme", Author: &fbv1.Author{Id: "loud"}, CreatedAt: timestamppb.New(at)}
		score, _ := proto.Marshal(&fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{Complaint: 1}})
		if _, err := s.Join(ctx, a, id, Part{Name: "score", Data: score, Complaint: true, At: at}, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		reach, _ := proto.Marshal(&fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{Followers: 1}})
		if _, err := s.Join(ctx, a, id, Part{Name: "reach", Data: reach, At: at}, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	streak := a.key("unanswered")
	if got := client.ZCard(ctx, streak).Val(); got != 1000 {
		t.Fatalf("the unanswered streak holds %d complaints, want 1000", got)
	}
	first := client.ZRangeWithScores(ctx, streak, 0, 0).Val()
	if len(first) != 1 || first[0].Member != "x:loud-0" {
		t.Fatalf("the streak starts at %v, want the first complaint (the first-response clock's start)", first)
	}
	if ttl := client.PTTL(ctx, streak).Val(); ttl <= 0 {
		t.Fatalf("the streak expires in %v, want a TTL", ttl)
	}
}

func TestTimelineKeepsEventsWithoutTheirCaseAndRedeliveriesGetItWhole(t *testing.T) {
	client, keys := storetest.New(t)
	s := New(client, keys, time.Hour, time.Hour)
	ctx := context.Background()
	l := openCase(t, s, "acme/x/ana", "standard", time.Now())
	big := proto.Clone(l.Case).(*fbv1.Case)
	for i := range cases.MaxMentionIDs {
		big.MentionIds = append(big.MentionIds, fmt.Sprintf("x:%0200d", i)) // a case of ~100 KB
	}
	if err := s.Save(ctx, l, big, &fbv1.CaseEvent{Id: "e:big", Case: big}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	_, timeline := caseKeys(s, l.Case.Id)
	for _, raw := range client.LRange(ctx, timeline, 0, -1).Val() {
		if len(raw) > 1<<10 {
			t.Fatalf("a timeline entry is %d bytes, want the event without its case", len(raw))
		}
	}
	evs, err := s.Timeline(ctx, l.Case.Id)
	if err != nil || len(evs) != 2 || evs[1].Id != "e:big" {
		t.Fatalf("timeline %v, %v; want the opening and the save", evs, err)
	}
	// The outbox, which publishes, keeps the event whole.
	out, err := s.Outbox(ctx, l.Case.Id)
	if err != nil || len(out) != 1 || len(out[0].GetCase().GetMentionIds()) != cases.MaxMentionIDs {
		t.Fatalf("outbox %d events, %v; want the event with its case", len(out), err)
	}
}
