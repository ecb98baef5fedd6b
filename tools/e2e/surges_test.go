package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// outageTexts are what customers write during a broadband outage.
var outageTexts = []string{
	"@acme broadband down again, no internet since this morning",
	"@acme internet is down, nothing works. Awful service",
	"@acme still no internet, the network has been down for hours",
	"@acme my broadband keeps dropping, useless",
	"@acme no connection at all today, when will it be fixed?",
}

// complaintAt posts one complaint made at a time, to replica i.
func (w *world) complaintAt(i int, id, author, text string, followers int64, at time.Time, extra string) {
	w.t.Helper()
	w.acceptAt(i, id, fmt.Sprintf(`{"platform":"x","platform_id":%q,"brand":"acme","author":{"id":%q,"handle":%q,"followers":%d},"text":%q,"created_at":%q%s}`,
		id, author, author, followers, text, at.UTC().Format(time.RFC3339Nano), extra))
}

// incidentCases lists the incident cases.
func (w *world) incidentCases() []*fbv1.Case {
	w.t.Helper()
	resp, err := w.escalation.ListCases(context.Background(), &fbv1.ListCasesRequest{PageSize: 500})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []*fbv1.Case
	for _, c := range resp.Cases {
		if c.Kind == fbv1.CaseKind_CASE_KIND_INCIDENT {
			out = append(out, c)
		}
	}
	return out
}

// incidentPages are the pages about incidents (their author is "incident").
func (r *recorder) incidentPages() []page {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []page
	for _, p := range r.pages {
		if strings.Contains(p.Title, "] incident on ") {
			out = append(out, p)
		}
	}
	return out
}

func TestTwoHundredPeopleInAnOutageOpenOneIncidentThatPagesOnce(t *testing.T) {
	w := startSetup(t, setup{replicas: 2, clock: &shiftClock{}})
	start := time.Now().Add(-10 * time.Minute)
	var ids []string
	complain := func(from, to int) {
		for i := from; i < to; i++ {
			id := fmt.Sprintf("71%03d", i)
			w.complaintAt(i%2, id, fmt.Sprintf("north-%d", i), outageTexts[i%len(outageTexts)], 150+int64(i), start.Add(time.Duration(i)*3*time.Second), "")
			ids = append(ids, "x:"+id)
		}
	}
	// The first 80 open the incident (after the persistence, about the
	// 50th): those decided before it opens go by the standard route,
	// whose first page waits 2m. The other 120, decided once it is open,
	// all join it quietly, however the two replicas interleave.
	complain(0, 80)
	testkit.Eventually(t, "the incident to open", func() bool { return len(w.incidentCases()) >= 1 })
	complain(80, 200)
	// A customer complaining for the third time during the outage is
	// paged on their own, as ever.
	for i := range 3 {
		id := fmt.Sprintf("72%03d", i)
		w.complaintAt(i%2, id, "loyal", outageTexts[i], 400, start.Add(9*time.Minute+time.Duration(i)*10*time.Second), "")
		w.decision("x:" + id) // ten seconds apart, each is decided before the next comes
	}
	w.pagesAbout("loyal", 1)
	quiet := 0
	var incidentID string
	for _, id := range ids {
		d := w.decision(id)
		if d.Quiet {
			quiet++
			incidentID = d.Surge.GetIncidentId()
			if d.Route != "joins-incident" || incidentID == "" {
				t.Fatalf("quiet decision %v: want the joins-incident route, linked to the incident", d)
			}
		}
	}
	w.settle()
	// The standard route's hold ends: every case it held joins the
	// incident, quietly, instead of paging.
	var held []*fbv1.Decision
	for _, id := range ids {
		if d := w.decision(id); d.Route == "standard" {
			if !hasReason(d.Reasons, "held 2m: waiting to see whether this is part of a surge") {
				t.Fatalf("%s went by the standard route without its hold: %v", id, d.Reasons)
			}
			held = append(held, d)
		}
	}
	if len(held) == 0 {
		t.Fatal("no complaint was decided before the incident opened; the test no longer shows the hold")
	}
	w.skip(holdOver)
	testkit.Eventually(t, "every held case to end its hold", func() bool {
		for _, d := range held {
			resp, err := w.escalation.GetCase(context.Background(), &fbv1.GetCaseRequest{Id: d.CaseId})
			if err != nil || resp.Case.HeldUntil != nil {
				return false
			}
		}
		return true
	})
	w.settle()
	incidents := w.incidentCases()
	if len(incidents) != 1 || incidents[0].Id != incidentID {
		t.Fatalf("incident cases %v, want one, the one the quiet complaints joined (%s)", incidents, incidentID)
	}
	inc := incidents[0]
	for _, id := range ids[80:] {
		if d := w.decision(id); !d.Quiet {
			t.Fatalf("%s, decided after the incident opened: route %q; want it to join quietly", id, d.Route)
		}
	}
	if quiet < 120 {
		t.Fatalf("%d of 200 complaints joined the incident quietly, want at least the 120 after it opened", quiet)
	}
	if inc.Team != "senior" || inc.Incident.Authors < int64(quiet) || inc.Incident.MembersTotal < int64(quiet) || inc.Incident.Reach <= 150*int64(quiet) ||
		!strings.Contains(inc.Incident.Reason, "people complained") || !strings.Contains(inc.Incident.Reason, "in 15 minutes; usually") {
		t.Fatalf("incident %v %v: want senior's, with its members, authors, reach and why", inc, inc.Incident)
	}
	testkit.Eventually(t, "the incident's page", func() bool { return len(w.hook.incidentPages()) >= 1 })
	w.settle()
	if pages := w.hook.incidentPages(); len(pages) != 1 {
		t.Fatalf("the incident paged %d times, want once: %v", len(pages), pages)
	}
	loyal := w.decision("x:72002")
	if loyal.Quiet || loyal.Route != "repeat" || loyal.Surge.GetIncidentId() != inc.Id {
		t.Fatalf("the third complaint: route %q quiet %v surge %v; want the repeat route to page, knowing the incident", loyal.Route, loyal.Quiet, loyal.Surge)
	}
	for _, id := range ids[len(ids)-10:] {
		d := w.decision(id)
		c, timeline := w.caseOf(d.CaseId)
		if c.IncidentId != inc.Id || len(timeline) == 0 || !timeline[0].Quiet {
			t.Fatalf("member case %s: incident %q, timeline %v; want it linked and its opening quiet", c.Id, c.IncidentId, timeline)
		}
	}
	for _, d := range held {
		c, timeline := w.caseOf(d.CaseId)
		if c.IncidentId != inc.Id || c.Level != 0 || c.Chain != "" || len(timeline) < 2 || !timeline[0].Quiet ||
			!timeline[len(timeline)-1].Quiet || !hasReason(timeline[len(timeline)-1].Reasons, "joined incident "+inc.Id+" at the end of its hold") {
			t.Fatalf("held case %s: incident %q level %d chain %q, timeline %v; want it to have joined the incident quietly, saying why",
				c.Id, c.IncidentId, c.Level, c.Chain, timeline)
		}
	}
	// The whole outage paged twice: the incident once, and the customer
	// complaining for the third time. No outage complaint paged alone.
	for _, id := range ids {
		if pages := w.hook.about(w.decision(id).Mention.Author.Handle); len(pages) != 0 {
			t.Fatalf("%s paged on its own: %v", id, pages)
		}
	}
	if pages := w.hook.about("loyal"); len(pages) != 1 {
		t.Fatalf("the repeat complainer paged %d times, want once: %v", len(pages), pages)
	}
	w.hook.mu.Lock()
	all := slices.Clone(w.hook.pages)
	w.hook.mu.Unlock()
	if len(all) != 2 {
		t.Fatalf("the outage paged %d times, want twice (the incident and the repeat complainer): %v", len(all), all)
	}
}

func TestAPileOnUnderABrandReplyOpensAnIncidentLinkedToTheReply(t *testing.T) {
	w := startReplicas(t, 2, nil)
	start := time.Now().Add(-5 * time.Minute)
	w.acceptAt(0, "73000", fmt.Sprintf(`{"platform":"x","platform_id":"73000","brand":"acme","author":{"id":"acme-id","handle":"acme","followers":203000},"brand_reply":true,"reply_to_author_id":"first","text":"That's a bit harsh. Calm down.","created_at":%q}`,
		start.Add(-time.Minute).UTC().Format(time.RFC3339Nano)))
	for i := range 30 {
		id := fmt.Sprintf("73%03d", i+1)
		w.complaintAt(i%2, id, fmt.Sprintf("crowd-%d", i), "@acme how dare you talk to a customer like that, awful service", 300, start.Add(time.Duration(i)*10*time.Second),
			`,"reply_to_id":"x:73000"`)
		// Decided in the order they were posted, as a pile-on arrives.
		w.decision("x:" + id)
	}
	w.settle()
	incidents := w.incidentCases()
	if len(incidents) != 1 || incidents[0].Incident.GetPostId() != "x:73000" {
		t.Fatalf("incidents %v, want one, on the brand's reply x:73000", incidents)
	}
	if !strings.Contains(incidents[0].Incident.Reason, "people piled on one post in 15 minutes") {
		t.Fatalf("incident reason %q", incidents[0].Incident.Reason)
	}
	testkit.Eventually(t, "the pile-on's page", func() bool { return len(w.hook.incidentPages()) >= 1 })
	w.settle()
	if pages := w.hook.incidentPages(); len(pages) != 1 {
		t.Fatalf("the pile-on paged %d times, want once: %v", len(pages), pages)
	}
}
