package trouble

import (
	"context"
	"log/slog"
	"testing"

	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

func TestANoteIsSeenByEveryServiceUntilItsKeepRunsOut(t *testing.T) {
	client, keys := storetest.New(t)
	ctx := context.Background()
	scorer := New(client, keys, slog.New(slog.DiscardHandler))
	escalation := New(client, keys, slog.New(slog.DiscardHandler))
	if recent, err := escalation.Recent(ctx); err != nil || recent {
		t.Fatalf("before any failure: recent %v, err %v", recent, err)
	}
	if err := scorer.Mark(ctx); err != nil {
		t.Fatal(err)
	}
	if recent, err := escalation.Recent(ctx); err != nil || !recent {
		t.Fatalf("after another service's failure: recent %v, err %v", recent, err)
	}
	ttl, err := client.PTTL(ctx, scorer.key).Result()
	if err != nil || ttl <= 0 || ttl > Keep {
		t.Fatalf("note's TTL %s (%v), want at most Keep", ttl, err)
	}
}

func TestNoteWritesInTheBackgroundOnceASecond(t *testing.T) {
	client, keys := storetest.New(t)
	b := New(client, keys, slog.New(slog.DiscardHandler))
	b.Note()
	testkit.Eventually(t, "the note written", func() bool {
		recent, err := b.Recent(context.Background())
		return err == nil && recent
	})
	first := b.last.Load()
	b.Note() // within the second: no second write
	if b.last.Load() != first {
		t.Fatal("a second failure within a second wrote the note again")
	}
	var none *Board
	none.Note() // a service without a board notes nothing, and does not panic
}
