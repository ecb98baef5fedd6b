package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// TestJoinsAndCommitsOnRedisCluster decides an author's complaints on a
// real Redis Cluster: every key the join and commit scripts touch (those
// sent and those named from the prefix, a case's) must be in the author's
// slot, and each decision must see the complaints and the case before it.
func TestJoinsAndCommitsOnRedisCluster(t *testing.T) {
	client, keys := onCluster(t)
	ctx := context.Background()
	s := New(client, keys, time.Hour, time.Hour)
	a := s.Author("acme/x/cluster")
	at := time.Unix(1_800_000_000, 0)
	for i := range 3 {
		id := fmt.Sprintf("x:cluster-%d", i)
		m := &fbv1.Mention{Id: id, Brand: "acme", Author: &fbv1.Author{Id: "cluster"}, CreatedAt: timestamppb.New(at.Add(time.Duration(i) * time.Minute))}
		score, _ := proto.Marshal(&fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{Complaint: 1}})
		reach, _ := proto.Marshal(&fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{Followers: 10}})
		if _, err := s.Join(ctx, a, id, Part{Name: "score", Data: score, Complaint: true, At: m.CreatedAt.AsTime()}, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		j, err := s.Join(ctx, a, id, Part{Name: "reach", Data: reach, At: m.CreatedAt.AsTime()}, 24*time.Hour)
		if err != nil || !j.Ready {
			t.Fatalf("mention %d: join %+v, %v; want it ready", i, j, err)
		}
		if got := j.History.GetComplaintsInWindow(); got != int32(i+1) {
			t.Errorf("mention %d: %d complaints in the window, want %d", i, got, i+1)
		}
		if (j.Current.Case != nil) != (i > 0) {
			t.Errorf("mention %d: current case %v, want the case the first opened", i, j.Current.Case)
		}
		c := &fbv1.Case{Id: cases.ID(a.Tag, 1), Brand: "acme", State: fbv1.CaseState_CASE_STATE_OPEN, UpdatedAt: m.CreatedAt}
		d := &fbv1.Decision{MentionId: id, Score: j.Score, Reach: j.Reach, History: j.History, Mention: m}
		if _, err := s.Commit(ctx, a, j, d, c, []*fbv1.CaseEvent{{Id: fmt.Sprintf("%s:%d", c.Id, i), Case: c}}, time.Time{}); err != nil {
			t.Fatalf("mention %d: %v", i, err)
		}
	}
}

// onCluster is a client of a Redis Cluster of the test's own, and the
// test's key prefix, cleaned at the end.
func onCluster(t *testing.T) (redis.UniversalClient, store.Keys) {
	t.Helper()
	cluster := storetest.StartCluster(t)
	client, err := store.Open(context.Background(), store.Options{URL: "redis://", Addrs: cluster.Addrs})
	if err != nil {
		t.Fatal(err)
	}
	keys := store.Keys{Prefix: storetest.Prefix(t)}
	t.Cleanup(func() { storetest.Clean(t, client, keys.Prefix); _ = client.Close() })
	return client, keys
}
