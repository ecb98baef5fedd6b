package escalation

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/redrive"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// TestARedriveAfterRedisLostItsWritesDecidesEachMentionOnce: four
// mentions decided into four cases, and a fifth whose score has come but
// not its reach. Redis then loses everything escalation wrote (its keys
// deleted): decisions, cases and the fifth's half-join. A redrive of the
// window decides the four again into the same cases, whose events the
// bus already holds (the same ids: nothing new to page), and joins the
// fifth's score again, so its reach, when it comes, decides it with both;
// the acknowledgement Ana made in the console is made again, in her name.
// A second redrive finds everything decided and changes nothing.
// With the mentions in four partitions, the redrive reads each one's
// stream.
func TestARedriveAfterRedisLostItsWritesDecidesEachMentionOnce(t *testing.T) {
	for _, partitions := range []int{1, 4} {
		t.Run(fmt.Sprintf("partitions=%d", partitions), func(t *testing.T) {
			redriveAfterRedisLostItsWrites(t, newPartitionedRig(t, partitions, 1, func(c *Config) { c.JoinTimeout = time.Minute }))
		})
	}
}

func redriveAfterRedisLostItsWrites(t *testing.T, r *rig) {
	ctx := context.Background()
	since := time.Now().Add(-time.Second)
	var ids []string
	for i := range 4 {
		m := mention(fmt.Sprintf("x:lost-%d", i), fmt.Sprintf("author-%d", i), 100, time.Now())
		ids = append(ids, m.Id)
		r.send(scored(m, 0.9), 0)
		r.send(reached(m, fbv1.Tier_TIER_LOW), 0)
	}
	late := mention("x:half", "author-half", 100, time.Now())
	r.send(scored(late, 0.9), 0)
	opened := func(evs []*fbv1.CaseEvent) []string {
		var out []string
		for _, e := range evs {
			if e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED {
				out = append(out, e.Case.Id+" "+e.MentionId)
			}
		}
		slices.Sort(out)
		return out
	}
	before := opened(r.waitEvents("four cases opened", func(evs []*fbv1.CaseEvent) bool { return len(opened(evs)) == 4 }))
	r.settled()
	svc := r.svc[0]
	// Ana acknowledges one case in the console: that is on no stream
	// escalation consumes, only as the case's event.
	acked := strings.Fields(before[0])[0]
	if _, err := svc.AcknowledgeCase(asAna(), &fbv1.AcknowledgeCaseRequest{Id: acked, Note: "on it"}); err != nil {
		t.Fatal(err)
	}
	acks := func() int { return count(r.events(), fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED) }
	r.waitEvents("the acknowledgement", func([]*fbv1.CaseEvent) bool { return acks() == 1 })

	storetest.Clean(t, svc.d.Redis, svc.d.Keys.Prefix) // power lost: Redis forgot it all

	server := redrive.New(svc.d.JS, "escalation", svc.redrive)
	req := &fbv1.RedriveRequest{Since: timestamppb.New(since)}
	resp, err := server.Redrive(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Outcomes; got["decided_again"] != 4 || got["waiting"] != 1 || got["already_decided"] != 0 || got["actions_redone"] != 1 {
		t.Fatalf("outcomes %v, want 4 decided again, 1 waiting for its reach and Ana's acknowledgement redone", got)
	}
	c, err := svc.GetCase(asAna(), &fbv1.GetCaseRequest{Id: acked})
	if err != nil || c.Case.State != fbv1.CaseState_CASE_STATE_ACKNOWLEDGED || c.Case.AcknowledgedBy != "ana" {
		t.Fatalf("case %s after the redrive: %v, %v; want acknowledged by ana again", acked, c, err)
	}
	var offered, failed int64
	for _, s := range resp.Streams {
		if strings.HasPrefix(s.Stream, r.bus.Names.Stream(bus.NounMentions)) {
			offered, failed = offered+s.Offered, failed+s.Failed
		}
	}
	if offered != 9 || failed != 0 {
		t.Fatalf("mention streams: %v, want their 9 parts offered without failure", resp.Streams)
	}
	for _, id := range ids {
		if d := r.decision(id); !d.Escalate || d.Team != "standard" {
			t.Fatalf("decision of %s after the redrive: %v", id, d)
		}
	}
	r.send(reached(late, fbv1.Tier_TIER_LOW), 0)
	if d := r.decision(late.Id); len(d.Missing) != 0 || !d.Escalate {
		t.Fatalf("the half-joined mention was decided %v, want with its score and reach", d)
	}
	r.settled()
	evs := r.events()
	after := opened(evs)
	for _, b := range before {
		if len(after) != 5 || !slices.Contains(after, b) {
			t.Fatalf("cases opened after the redrive: %v, want the four of before (%v), once each, and the fifth", after, before)
		}
	}

	again, err := server.Redrive(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Outcomes; got["already_decided"] != 5 || got["decided_again"] != 0 || got["waiting"] != 0 || got["actions_redone"] != 0 {
		t.Fatalf("a second redrive: %v, want all 5 found decided", got)
	}
	r.settled()
	if n := len(r.events()); n != len(evs) {
		t.Fatalf("a second redrive published %d case events, want none", n-len(evs))
	}
	if n := acks(); n != 1 {
		t.Fatalf("%d acknowledged events on the bus, want Ana's one", n)
	}
}

// BenchmarkRedrive measures how fast a redrive takes a window back after
// Redis lost everything in it: each iteration decides 500 mentions (1,000
// parts), makes Redis forget them, and times the redrive that decides them
// again. It reports the parts offered a second.
//
//	go test -run '^$' -bench Redrive -benchtime 3x ./services/escalation
func BenchmarkRedrive(b *testing.B) {
	const mentions = 500
	r := newRigWith(b, 1, func(c *Config) { c.JoinTimeout = time.Hour })
	svc := r.svc[0]
	server := redrive.New(svc.d.JS, "escalation", svc.redrive)
	ctx := context.Background()
	var took time.Duration
	offered := int64(0)
	for n := range b.N {
		b.StopTimer()
		since := time.Now().Add(-time.Second)
		for i := range mentions {
			m := mention(fmt.Sprintf("x:bench-%d-%d", n, i), fmt.Sprintf("author-%d-%d", n, i), 100, time.Now())
			r.send(scored(m, 0.9), 0)
			r.send(reached(m, fbv1.Tier_TIER_LOW), 0)
		}
		r.settled()
		storetest.Clean(b, svc.d.Redis, svc.d.Keys.Prefix)
		b.StartTimer()
		start := time.Now()
		resp, err := server.Redrive(ctx, &fbv1.RedriveRequest{Since: timestamppb.New(since)})
		took += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if got := resp.Outcomes["decided_again"]; got != mentions {
			b.Fatalf("decided again %d of %d: %v", got, mentions, resp.Outcomes)
		}
		for _, s := range resp.Streams {
			offered += s.Offered
		}
	}
	b.ReportMetric(float64(offered)/took.Seconds(), "parts/s")
}
