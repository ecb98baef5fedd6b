package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/history"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// historyStep is a complaint or a brand answer at an offset from a start.
type historyStep struct {
	answer bool
	at     time.Duration
	// want is the history after a complaint: complaints in the window and
	// the unanswered streak.
	wantCount, wantStreak int32
}

// historyContract is one table of the rules of an author's history, run
// against both implementations: the Redis scripts the service uses, and the
// Book the backtest uses. A rule lives in two places only with this table
// holding them to one meaning.
var historyContract = []struct {
	name  string
	steps []historyStep
}{
	{"a complaint exactly one window old no longer counts", []historyStep{
		{at: 0, wantCount: 1, wantStreak: 1},
		{at: 24 * time.Hour, wantCount: 1, wantStreak: 2},
	}},
	{"a complaint a moment less than a window old counts", []historyStep{
		{at: 0, wantCount: 1, wantStreak: 1},
		{at: 24*time.Hour - time.Millisecond, wantCount: 2, wantStreak: 2},
	}},
	{"an answer at the same moment answers the complaint", []historyStep{
		{at: time.Hour, wantCount: 1, wantStreak: 1},
		{answer: true, at: time.Hour},
		{at: 2 * time.Hour, wantCount: 2, wantStreak: 1},
	}},
	{"a late complaint made before the answer is answered", []historyStep{
		{at: 3 * time.Hour, wantCount: 1, wantStreak: 1},
		{answer: true, at: 4 * time.Hour},
		{at: 2 * time.Hour, wantCount: 1, wantStreak: 0},
		{at: 5 * time.Hour, wantCount: 3, wantStreak: 1},
	}},
	{"a late complaint made after the answer stays unanswered", []historyStep{
		{answer: true, at: 4 * time.Hour},
		{at: 6 * time.Hour, wantCount: 1, wantStreak: 1},
		{at: 5 * time.Hour, wantCount: 1, wantStreak: 1},
		{at: 7 * time.Hour, wantCount: 3, wantStreak: 3},
	}},
	{"the streak outlasts the window", []historyStep{
		{at: 0, wantCount: 1, wantStreak: 1},
		{at: 30 * time.Hour, wantCount: 1, wantStreak: 2},
		{at: 60 * time.Hour, wantCount: 1, wantStreak: 3},
	}},
}

// historyImpl runs a contract's steps.
type historyImpl interface {
	complaint(t *testing.T, id string, at time.Time) *fbv1.History
	answer(t *testing.T, id string, at time.Time)
}

func TestHistoryContract(t *testing.T) {
	client, keys := storetest.New(t)
	window := 24 * time.Hour
	impls := map[string]func(author string) historyImpl{
		"book": func(string) historyImpl { return bookHistory{history.NewBook(window)} },
		"redis": func(author string) historyImpl {
			return redisHistory{ledger.New(client, keys, time.Hour, time.Hour), author, window}
		},
	}
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	for implName, impl := range impls {
		for i, tc := range historyContract {
			t.Run(implName+"/"+tc.name, func(t *testing.T) {
				h := impl(fmt.Sprintf("acme/x/contract-%d", i))
				for n, s := range tc.steps {
					id := fmt.Sprintf("x:%d-%d", i, n)
					if s.answer {
						h.answer(t, id, start.Add(s.at))
						continue
					}
					got := h.complaint(t, id, start.Add(s.at))
					if got.ComplaintsInWindow != s.wantCount || got.UnansweredStreak != s.wantStreak {
						t.Fatalf("step %d (complaint at +%s): %d in window, streak %d; want %d, %d",
							n, s.at, got.ComplaintsInWindow, got.UnansweredStreak, s.wantCount, s.wantStreak)
					}
				}
			})
		}
	}
}

type bookHistory struct{ b *history.Book }

func (h bookHistory) complaint(_ *testing.T, id string, at time.Time) *fbv1.History {
	return h.b.Complaint("a", id, at)
}
func (h bookHistory) answer(_ *testing.T, _ string, at time.Time) { h.b.BrandReply("a", at) }

type redisHistory struct {
	s      *ledger.Store
	author string
	window time.Duration
}

func (h redisHistory) complaint(t *testing.T, id string, at time.Time) *fbv1.History {
	t.Helper()
	ctx := context.Background()
	a := h.s.Author(h.author)
	m := &fbv1.Mention{Id: id, Brand: "acme", Author: &fbv1.Author{Id: "a"}, CreatedAt: timestamppb.New(at)}
	sm, _ := proto.Marshal(&fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{Complaint: 1}})
	rm, _ := proto.Marshal(&fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{}})
	if _, err := h.s.Join(ctx, a, id, ledger.Part{Name: "score", Data: sm, Complaint: true, At: at}, h.window); err != nil {
		t.Fatal(err)
	}
	j, err := h.s.Join(ctx, a, id, ledger.Part{Name: "reach", Data: rm, At: at}, h.window)
	if err != nil || !j.Ready {
		t.Fatalf("join of %s: ready %v, err %v", id, j.Ready, err)
	}
	if _, err := h.s.Commit(ctx, a, j, &fbv1.Decision{MentionId: id}, nil, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return j.History
}

func (h redisHistory) answer(t *testing.T, id string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	a := h.s.Author(h.author)
	j, err := h.s.Reply(ctx, a, id, at, h.window)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.CommitReply(ctx, a, j, &fbv1.Decision{MentionId: id}, nil, nil, time.Time{}, ledger.ReplyEffect{Answer: at, Keep: time.Hour}); err != nil {
		t.Fatal(err)
	}
}
