package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// An overdue join is put off a bounded number of times, and never one
// that is gone or decided.
func TestAnOverdueJoinIsHeldABoundedNumberOfTimes(t *testing.T) {
	client, keys := storetest.New(t)
	ctx := context.Background()
	s := ledger.New(client, keys, time.Hour, time.Second)
	a := s.Author("acme/x/held")
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	if _, err := s.Join(ctx, a, "x:1", ledger.Part{Name: "score", Data: []byte("s"), Complaint: true, At: at}, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	for i := range 3 {
		held, err := s.HoldJoin(ctx, a.Tag, "x:1", later, 3)
		if err != nil || !held {
			t.Fatalf("hold %d: held %v, err %v; want held", i+1, held, err)
		}
	}
	if due, err := s.ClaimDueJoins(ctx, time.Now().Add(time.Minute), time.Minute, 10); err != nil || len(due) != 0 {
		t.Fatalf("a held join was due before its hold ended: %v, %v", due, err)
	}
	if held, err := s.HoldJoin(ctx, a.Tag, "x:1", later, 3); err != nil || held {
		t.Fatalf("the fourth hold of three: held %v, err %v; want it decided now", held, err)
	}
	if held, err := s.HoldJoin(ctx, a.Tag, "x:gone", later, 3); err != nil || held {
		t.Fatalf("a join that does not exist: held %v, err %v; want nothing held", held, err)
	}
}
