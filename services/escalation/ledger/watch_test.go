package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// TestJoinsInOneRoundTripReadTheWatchedKeyOnce joins parts of several
// mentions together: each answer carries the watched key's value, read
// once for the round trip.
func TestJoinsInOneRoundTripReadTheWatchedKeyOnce(t *testing.T) {
	client, keys := storetest.New(t)
	ctx := context.Background()
	s := New(client, keys, time.Hour, time.Hour)
	s.Watch = keys.Global("silences", "version")
	if err := client.Set(ctx, s.Watch, "7", 0).Err(); err != nil {
		t.Fatal(err)
	}
	gets := &commandCounter{match: func(cmd redis.Cmder) bool { return cmd.Name() == "get" }}
	client.AddHook(gets)
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	var reqs []JoinRequest
	for i := range 4 {
		reqs = append(reqs, JoinRequest{Author: s.Author(fmt.Sprintf("acme/x/a%d", i)), MentionID: fmt.Sprintf("x:%d", i),
			Part: Part{Name: "score", Data: []byte("s"), Complaint: true, At: at}})
	}
	out, errs := s.JoinAll(ctx, reqs, time.Hour)
	for i := range reqs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if out[i].Watched != "7" {
			t.Fatalf("join %d read the watched key as %q, want 7", i, out[i].Watched)
		}
	}
	if n := gets.n.Load(); n != 1 {
		t.Fatalf("4 joins in one round trip sent %d GETs of the watched key, want 1", n)
	}
}
