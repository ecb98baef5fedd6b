package escalation

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// surgePolicy is fastPolicy with a surges section and the default's quiet
// route for complaints that join an open incident.
var surgePolicy = strings.Replace(fastPolicy, `  - name: standard
    match: complaint
`, `  - name: joins-incident
    match: complaint && surge.active && !escalated
    team: standard
    priority: LOW
    quiet: true
    reason: "joined incident {incident}: {surge}"
  - name: standard
    match: complaint && !escalated
`, 1) + surgesSection

// surgesSection counts complaints towards surges, as the default policy
// does.
const surgesSection = `
surges:
  team: senior
  window: 15m
  min_authors: 10
  deviations: 4
  persist: 2m
  quiet: 30m
  cooldown: 30m
`

func newSurgeRig(t *testing.T) *rig {
	r := newRigWith(t, 2, func(c *Config) { c.SurgeLook = 20 * time.Millisecond })
	if err := writeFile(r.policyPath, surgePolicy); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the surge policy loaded on both replicas", func() bool {
		_, ok0 := r.svc[0].policy.Load().Surges()
		_, ok1 := r.svc[1].policy.Load().Surges()
		return ok0 && ok1
	})
	return r
}

func incidents(evs []*fbv1.CaseEvent) []*fbv1.CaseEvent {
	var out []*fbv1.CaseEvent
	for _, e := range evs {
		if e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED && e.Case.GetKind() == fbv1.CaseKind_CASE_KIND_INCIDENT {
			out = append(out, e)
		}
	}
	return out
}

func TestOutageOpensOneIncidentOnTwoReplicasAndRepeatComplainersStillPage(t *testing.T) {
	r := newSurgeRig(t)
	start := time.Now().Add(-10 * time.Minute)
	var sent []string
	complain := func(from, to int) {
		for i := from; i < to; i++ {
			m := mention(fmt.Sprintf("x:out-%d", i), fmt.Sprintf("cust-%d", i), 120, start.Add(time.Duration(i)*6*time.Second))
			s := scored(m, 0.9)
			s.Score.Topics = []string{"broadband"}
			r.send(s, 1)
			r.send(reached(m, fbv1.Tier_TIER_LOW), 1)
			sent = append(sent, m.Id)
		}
		for _, id := range sent[from:to] {
			r.decision(id)
		}
	}
	// The outage's first half opens the incident; every complaint of the
	// second half, decided after it opened, joins it quietly.
	complain(0, 40)
	r.waitEvents("the incident to open", func(evs []*fbv1.CaseEvent) bool { return len(incidents(evs)) >= 1 })
	complain(40, 80)
	// The same customer a third time, late in the outage: the repeat route
	// pages them on their own.
	for i := range 3 {
		m := mention(fmt.Sprintf("x:rep-%d", i), "repeat-customer", 80, start.Add(9*time.Minute+time.Duration(i)*time.Second))
		s := scored(m, 0.9)
		s.Score.Topics = []string{"broadband"}
		r.send(s, 1)
		r.send(reached(m, fbv1.Tier_TIER_LOW), 1)
		r.decision(m.Id)
	}
	evs := r.waitEvents("one incident", func(evs []*fbv1.CaseEvent) bool { return len(incidents(evs)) >= 1 })
	opened := incidents(evs)
	if len(opened) != 1 {
		t.Fatalf("%d incidents opened, want one", len(opened))
	}
	inc := opened[0]
	if inc.Case.Team != "senior" || len(inc.Receivers) != 1 || inc.Receivers[0] != "oncall" || inc.Quiet || inc.Silenced != nil {
		t.Fatalf("incident event %v: want one page to senior's oncall", inc)
	}
	if want := "complained about broadband in 15 minutes; usually "; !strings.Contains(inc.Case.Incident.GetReason(), want) {
		t.Fatalf("incident reason %q, want it to say %q", inc.Case.Incident.GetReason(), want)
	}
	third := r.decision("x:rep-2")
	if third.Route != "repeat" || third.Quiet || !third.Surge.GetActive() || third.Surge.IncidentId != inc.Case.Id {
		t.Fatalf("third complaint: route %q quiet %v surge %v; want the repeat route to page, knowing the incident", third.Route, third.Quiet, third.Surge)
	}
	quiet := 0
	for _, id := range sent {
		d := r.decision(id)
		if d.Quiet {
			quiet++
			if d.Route != "joins-incident" || d.Surge.GetIncidentId() != inc.Case.Id {
				t.Fatalf("quiet decision %v", d)
			}
		}
	}
	if quiet < 40 {
		t.Fatalf("%d of 80 complaints joined the incident quietly, want most after it opened", quiet)
	}
	for _, e := range evs {
		if e.Quiet && e.Case.GetIncidentId() != inc.Case.Id {
			t.Fatalf("quiet event %s is on a case not linked to the incident", e.Id)
		}
	}
	listed, err := r.client(0).ListCases(context.Background(), &fbv1.ListCasesRequest{Kind: fbv1.CaseKind_CASE_KIND_INCIDENT})
	if err != nil || len(listed.GetCases()) != 1 || listed.Cases[0].Id != inc.Case.Id || listed.Cases[0].Incident.GetMembersTotal() == 0 {
		t.Fatalf("incidents listed: %v, %v; want the one, with its members", listed, err)
	}
	got, err := r.client(1).GetCase(context.Background(), &fbv1.GetCaseRequest{Id: inc.Case.Id})
	if err != nil {
		t.Fatal(err)
	}
	in := got.Case.Incident
	if got.Case.Kind != fbv1.CaseKind_CASE_KIND_INCIDENT || in.Topic != "broadband" || in.MembersTotal < int64(quiet) || in.Authors < int64(quiet) ||
		in.Reach < 80*int64(quiet) || in.FirstMentionId == "" || in.LatestMentionId == "" {
		t.Fatalf("incident %v: want its topic, members, authors, reach and mentions", in)
	}
}

func TestPileOnABrandReplyOpensAnIncidentLinkedToTheReply(t *testing.T) {
	r := newSurgeRig(t)
	start := time.Now().Add(-5 * time.Minute)
	for i := range 30 {
		m := mention(fmt.Sprintf("x:pile-%d", i), fmt.Sprintf("angry-%d", i), 300, start.Add(time.Duration(i)*10*time.Second))
		m.ReplyToId = "x:brand-reply"
		r.send(scored(m, 0.9), 1)
		r.send(reached(m, fbv1.Tier_TIER_LOW), 1)
		r.decision(m.Id)
	}
	evs := r.waitEvents("the pile-on's incident", func(evs []*fbv1.CaseEvent) bool { return len(incidents(evs)) >= 1 })
	opened := incidents(evs)
	if len(opened) != 1 || opened[0].Case.Incident.GetPostId() != "x:brand-reply" {
		t.Fatalf("incidents %v, want one on the brand's reply", opened)
	}
	if !strings.Contains(opened[0].Case.Incident.Reason, "piled on one post") {
		t.Fatalf("reason %q", opened[0].Case.Incident.Reason)
	}
}

func TestIncidentResolvesWhenComplaintsStop(t *testing.T) {
	r := newSurgeRig(t)
	// An outage long ago, by event time: by now the count is back at the
	// usual for longer than the quiet period, and the timers resolve it.
	start := time.Now().Add(-3 * time.Hour)
	for i := range 40 {
		m := mention(fmt.Sprintf("x:old-%d", i), fmt.Sprintf("old-%d", i), 10, start.Add(time.Duration(i)*10*time.Second))
		r.send(scored(m, 0.9), 1)
		r.send(reached(m, fbv1.Tier_TIER_LOW), 1)
		r.decision(m.Id)
	}
	evs := r.waitEvents("the incident resolved", func(evs []*fbv1.CaseEvent) bool {
		for _, e := range evs {
			if e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED && e.Case.GetKind() == fbv1.CaseKind_CASE_KIND_INCIDENT {
				return true
			}
		}
		return false
	})
	if n := len(incidents(evs)); n != 1 {
		t.Fatalf("%d incidents opened, want one", n)
	}
}

func TestAnIncidentResolvedByHandStopsComplaintsJoiningIt(t *testing.T) {
	r := newSurgeRig(t)
	start := time.Now().Add(-5 * time.Minute)
	send := func(i int, at time.Time) *fbv1.Decision {
		m := mention(fmt.Sprintf("x:hand-%d", i), fmt.Sprintf("hand-%d", i), 300, at)
		m.ReplyToId = "x:brand-reply"
		r.send(scored(m, 0.9), 1)
		r.send(reached(m, fbv1.Tier_TIER_LOW), 1)
		return r.decision(m.Id)
	}
	var last *fbv1.Decision
	for i := range 30 {
		last = send(i, start.Add(time.Duration(i)*10*time.Second))
	}
	if !last.Quiet || last.Surge.GetIncidentId() == "" {
		t.Fatalf("the last reply of the pile-on: %v, want it to join the incident quietly", last)
	}
	if _, err := r.svc[1].ResolveCase(asAna(), &fbv1.ResolveCaseRequest{Id: last.Surge.IncidentId, Note: "handled"}); err != nil {
		t.Fatal(err)
	}
	after := send(30, time.Now())
	if after.Quiet || after.Surge != nil || after.Route != "standard" {
		t.Fatalf("a reply after the incident was resolved: route %q quiet %v surge %v; want it paged as ever", after.Route, after.Quiet, after.Surge)
	}
}
