package ledger_test

import (
	"context"
	"errors"
	"strings"
	"sync"
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

// A Cluster re-forming after a restart or a failover answers CLUSTERDOWN
// on some slots and not others. A commit whose script ran on the author's
// slot while the mention's pointer, on another slot, was refused must
// still write the pointer: a redelivery finds the mention decided and only
// publishes its events again, so nothing else would (make chaos: mentions
// decided and paged but unknown to ExplainDecision after Redis came back).
func TestACommitWritesWhatRodeWithItToASlotThatWasDown(t *testing.T) {
	for _, batched := range []bool{false, true} {
		name := "alone"
		if batched {
			name = "batched"
		}
		t.Run(name, func(t *testing.T) {
			client := redis.NewClient(&redis.Options{Addr: storetest.StartServer(t)})
			t.Cleanup(func() { _ = client.Close() })
			down := &slotDown{match: ":mention:", times: 2}
			client.AddHook(down)
			ctx := context.Background()
			s := ledger.New(client, store.Keys{Prefix: "t:"}, time.Hour, time.Hour)
			a := s.Author("acme/x/reform")
			at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
			m := &fbv1.Mention{Id: "x:1", Brand: "acme", Author: &fbv1.Author{Id: "a"}, CreatedAt: timestamppb.New(at)}
			score, _ := proto.Marshal(&fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{Complaint: 1}})
			reach, _ := proto.Marshal(&fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{Followers: 1}})
			if _, err := s.Join(ctx, a, m.Id, ledger.Part{Name: "score", Data: score, Complaint: true, At: at}, 24*time.Hour); err != nil {
				t.Fatal(err)
			}
			j, err := s.Join(ctx, a, m.Id, ledger.Part{Name: "reach", Data: reach, At: at}, 24*time.Hour)
			if err != nil || !j.Ready {
				t.Fatalf("join: %+v, %v", j, err)
			}
			d := &fbv1.Decision{MentionId: m.Id}
			if batched {
				_, errs := s.CommitAll(ctx, []ledger.CommitRequest{{Author: a, Joined: j, Decision: d}})
				err = errs[0]
			} else {
				_, err = s.Commit(ctx, a, j, d, nil, nil, time.Time{})
			}
			if err != nil {
				t.Fatalf("commit while the pointer's slot refused twice: %v", err)
			}
			if down.refused() != 2 {
				t.Fatalf("the pointer's slot refused %d writes, want 2", down.refused())
			}
			if _, err := s.Decision(ctx, m.Id); err != nil {
				t.Fatalf("the mention was committed while its pointer's slot was down, and is unknown after: %v", err)
			}
		})
	}
}

// slotDown fails the first times pipelined commands whose key contains
// match, as a Cluster node that is not serving their slot yet.
type slotDown struct {
	match string
	mu    sync.Mutex
	times int
	n     int
}

func (h *slotDown) refused() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

func (h *slotDown) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *slotDown) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return next
}

func (h *slotDown) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var sent, refused []redis.Cmder
		h.mu.Lock()
		for _, c := range cmds {
			args := c.Args()
			if key, ok := args[min(1, len(args)-1)].(string); ok && strings.Contains(key, h.match) && h.n < h.times {
				h.n++
				refused = append(refused, c)
				continue
			}
			sent = append(sent, c)
		}
		h.mu.Unlock()
		var err error
		if len(sent) > 0 {
			err = next(ctx, sent)
		}
		for _, c := range refused {
			c.SetErr(errors.New("CLUSTERDOWN The cluster is down"))
		}
		return err
	}
}
