package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// A Redis that restarted or failed over has lost its script cache: a
// batched join and commit load the scripts and go on, rather than fail
// every message of the batch. (On a server of its own: flushing the shared
// one's scripts would disturb other tests.)
func TestBatchedJoinAndCommitSurviveALostScriptCache(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: storetest.StartServer(t)})
	t.Cleanup(func() { _ = client.Close() })
	ctx := context.Background()
	s := ledger.New(client, store.Keys{Prefix: "t:"}, time.Hour, time.Hour)
	a := s.Author("acme/x/flushed")
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	m := &fbv1.Mention{Id: "x:1", Brand: "acme", Author: &fbv1.Author{Id: "a"}, CreatedAt: timestamppb.New(at)}
	score, _ := proto.Marshal(&fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{Complaint: 1}})
	reach, _ := proto.Marshal(&fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{Followers: 1}})

	join := func(part string, data []byte) ledger.Joined {
		t.Helper()
		if err := client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		out, errs := s.JoinAll(ctx, []ledger.JoinRequest{{Author: a, MentionID: m.Id, Part: ledger.Part{Name: part, Data: data, Complaint: true, At: at}}}, 24*time.Hour)
		if errs[0] != nil {
			t.Fatalf("join %s after the script cache was flushed: %v", part, errs[0])
		}
		return out[0]
	}
	join("score", score)
	j := join("reach", reach)
	if !j.Ready {
		t.Fatalf("score and reach joined, but the mention is not ready: %+v", j)
	}
	if err := client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	already, errs := s.CommitAll(ctx, []ledger.CommitRequest{{Author: a, Joined: j, Decision: &fbv1.Decision{MentionId: m.Id}}})
	if errs[0] != nil || already[0] {
		t.Fatalf("commit after the script cache was flushed: already %v, err %v", already[0], errs[0])
	}
	if again := join("reach", reach); again.Decided == nil {
		t.Fatalf("the mention was committed, but a redelivered part does not see it decided: %+v", again)
	}
}
