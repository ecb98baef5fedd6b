package escalation

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// A case keeps its latest mention ids only, yet a redelivered mention
// older than those still changes nothing: the join ledger remembers every
// decided mention for the decision TTL. And the case's events, which embed
// it, keep publishing however long the author goes on.
func TestLongCaseKeepsPublishingAndARedeliveredOldMentionChangesNothing(t *testing.T) {
	r := newRigWith(t, 1, func(c *Config) { c.JoinTimeout = 30 * time.Second })
	const n = cases.MaxMentionIDs + 10
	start := time.Now().Add(-time.Hour)
	ms := make([]*fbv1.Mention, n)
	for i := range ms {
		// The size bound with every field at its limit is
		// cases.TestCaseOfTenThousandMentionsStaysBounded's; here the
		// mentions go through the bus and the ledger.
		m := mention(fmt.Sprintf("x:long-%04d", i), "long", 10, start.Add(time.Duration(i)*time.Millisecond))
		m.Url = "https://x.com/long/status/" + m.Id
		if i%3 == 0 {
			m.Visibility = fbv1.Visibility_VISIBILITY_PRIVATE
		}
		ms[i] = m
	}
	var wg sync.WaitGroup
	for part := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, m := range ms {
				if part == 0 {
					r.send(scored(m, 0.9), 1)
				} else {
					r.send(reached(m, fbv1.Tier_TIER_LOW), 1)
				}
			}
		}()
	}
	wg.Wait()
	// Hundreds of decisions on one author's case take a loaded machine
	// longer than settled waits.
	testkit.EventuallyWithin(t, 2*time.Minute, "every mention decided", func() bool {
		_, err := r.svc[0].ExplainDecision(context.Background(), &fbv1.ExplainDecisionRequest{MentionId: ms[n-1].Id})
		done, cerr := bustest.CaughtUp(context.Background(), r.bus.JS, r.bus.Names.Stream(bus.NounMentions), bus.Durable("escalation", "join"))
		return err == nil && cerr == nil && done
	})
	caseID := r.decision(ms[n-1].Id).CaseId
	got := r.caseOf(caseID)
	var old *fbv1.Mention
	for _, m := range ms {
		if !cases.Holds(got, m.Id) {
			old = m
			break
		}
	}
	if got.MentionsTotal != n || len(got.MentionIds) != cases.MaxMentionIDs || old == nil {
		t.Fatalf("case counts %d mentions and keeps %d ids; want %d, the latest %d", got.MentionsTotal, len(got.MentionIds), n, cases.MaxMentionIDs)
	}
	last := r.eventCounting(n)
	size := proto.Size(last)
	t.Logf("case of %d mentions: event of %d bytes on the stream, case %d bytes", n, size, proto.Size(got))
	if size > 512<<10 {
		t.Fatalf("the event of the case of %d mentions is %d bytes; want at most 512 KiB", n, size)
	}

	// A mention its case no longer lists, delivered again past the
	// broker's dedup window.
	before := r.streamMsgs(bus.NounCases)
	r.send(scored(old, 0.9), 2)
	r.send(reached(old, fbv1.Tier_TIER_LOW), 2)
	r.settled()
	again := r.caseOf(caseID)
	if again.MentionsTotal != n || !proto.Equal(again, got) {
		t.Fatalf("a redelivered old mention changed the case: %d mentions, was %d", again.MentionsTotal, n)
	}
	if after := r.streamMsgs(bus.NounCases); after != before {
		t.Fatalf("a redelivered old mention published %d case events", after-before)
	}
}

func (r *rig) streamMsgs(noun string) uint64 {
	r.t.Helper()
	st, err := r.bus.JS.Stream(context.Background(), r.bus.Names.Stream(noun))
	if err != nil {
		r.t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return info.State.Msgs
}

// lastCaseEvent is the latest event on the cases stream.
// eventCounting waits for the case event whose case counts total
// mentions: decisions run concurrently, so it need not be the stream's last.
func (r *rig) eventCounting(total int) *fbv1.CaseEvent {
	r.t.Helper()
	var found *fbv1.CaseEvent
	testkit.Eventually(r.t, fmt.Sprintf("a case event counting %d mentions", total), func() bool {
		for _, e := range r.events() {
			if int(e.GetCase().GetMentionsTotal()) == total {
				found = e
				return true
			}
		}
		return false
	})
	return found
}
