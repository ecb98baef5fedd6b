package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"pgregory.net/rapid"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// TestJoinDecidesEachMentionOnceWhateverTheOrder drives the join with random
// interleavings of parts, duplicates and timeouts, and checks the invariants
// the service relies on: a mention is ready to decide exactly once (plus at
// most one late revision), and the window counts each complaint once.
func TestJoinDecidesEachMentionOnceWhateverTheOrder(t *testing.T) {
	client, keys := storetest.New(t)
	ctx := context.Background()
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		s := ledger.New(client, keys, time.Hour, time.Hour)
		a := s.Author(fmt.Sprintf("acme/x/prop-%d", run))
		n := rapid.IntRange(1, 5).Draw(rt, "mentions")
		at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		type op struct {
			mention int
			part    string
		}
		ops := rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) op {
			return op{rapid.IntRange(0, n-1).Draw(rt, "m"), rapid.SampledFrom([]string{"score", "reach", ledger.Timeout}).Draw(rt, "part")}
		}), 1, 30).Draw(rt, "ops")

		decided := map[int]int{}
		revised := map[int]int{}
		for _, o := range ops {
			id := fmt.Sprintf("x:%d", o.mention)
			m := &fbv1.Mention{Id: id, Brand: "acme", Author: &fbv1.Author{Id: "a"}, CreatedAt: timestamppb.New(at)}
			var data []byte
			switch o.part {
			case "score":
				data, _ = proto.Marshal(&fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{Complaint: 1}})
			case "reach":
				data, _ = proto.Marshal(&fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{Followers: 1}})
			}
			j, err := s.Join(ctx, a, id, ledger.Part{Name: o.part, Data: data, Complaint: true, At: at}, 24*time.Hour)
			if err != nil {
				rt.Fatal(err)
			}
			if !j.Ready && !j.Late {
				continue
			}
			d := &fbv1.Decision{MentionId: id, Score: j.Score, Reach: j.Reach, History: j.History}
			already, err := s.Commit(ctx, a, j, d, nil, nil, time.Time{})
			if err != nil {
				rt.Fatal(err)
			}
			if already {
				rt.Fatalf("join said ready but the mention %s was decided", id)
			}
			if j.Late {
				revised[o.mention]++
			} else {
				decided[o.mention]++
			}
		}
		complaints := 0
		for m, times := range decided {
			if times != 1 || revised[m] > 1 {
				rt.Fatalf("mention %d decided %d times, revised %d times", m, times, revised[m])
			}
		}
		// Every mention whose score has arrived counts once in the window.
		scored := map[int]bool{}
		for _, o := range ops {
			if o.part == "score" && (decided[o.mention] > 0) {
				scored[o.mention] = true
			}
		}
		complaints = len(scored)
		got, err := client.ZCard(ctx, keys.Of(a.Tag, "window")).Result()
		if err != nil {
			rt.Fatal(err)
		}
		if int(got) != complaints {
			rt.Fatalf("window holds %d complaints, want %d", got, complaints)
		}
	})
}

// TestALateRevisionNotCommittedIsOfferedAgain: a late part whose revision
// did not commit (the author's case changed meanwhile, or the process died)
// must be offered again on its retry; it was answered "decided" instead and
// the revision was dropped for good (make chaos: a mention decided without
// its score, the score on the stream, never revised).
func TestALateRevisionNotCommittedIsOfferedAgain(t *testing.T) {
	client, keys := storetest.New(t)
	ctx := context.Background()
	s := ledger.New(client, keys, time.Hour, time.Hour)
	a := s.Author("acme/x/late")
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	m := &fbv1.Mention{Id: "x:1", Brand: "acme", Author: &fbv1.Author{Id: "a"}, CreatedAt: timestamppb.New(at)}
	reach, _ := proto.Marshal(&fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{Followers: 1}})
	score, _ := proto.Marshal(&fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{Complaint: 1}})
	join := func(name string, data []byte) ledger.Joined {
		t.Helper()
		j, err := s.Join(ctx, a, "x:1", ledger.Part{Name: name, Data: data, Complaint: true, At: at}, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	join("reach", reach)
	j := join(ledger.Timeout, nil)
	if !j.Ready {
		t.Fatalf("timeout: %+v, want ready without the score", j)
	}
	if _, err := s.Commit(ctx, a, j, &fbv1.Decision{MentionId: "x:1", Missing: []string{"score"}}, nil, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if j = join("score", score); !j.Late {
		t.Fatalf("late score: %+v, want late", j)
	}
	// Its revision does not commit; the score is redelivered.
	if j = join("score", score); !j.Late {
		t.Fatalf("late score again: %+v, want late again, its revision never committed", j)
	}
	if already, err := s.Commit(ctx, a, j, &fbv1.Decision{MentionId: "x:1"}, nil, nil, time.Time{}); err != nil || already {
		t.Fatalf("revision: already %v, err %v; want it committed", already, err)
	}
	if j = join("score", score); j.Late || j.Decided == nil {
		t.Fatalf("score after the revision: %+v, want decided", j)
	}
}
