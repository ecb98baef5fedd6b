package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// acceptAt posts one mention's JSON to replica i's ingest and returns what
// ingest said of it.
func (w *world) acceptAt(i int, id, body string) map[string]any {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+w.replicas[i].Ingest.HTTPAddr()+"/v1/mentions", strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+w.replicas[i].Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		w.t.Fatalf("POST mention %s to replica %d: %d %s", id, i, resp.StatusCode, b)
	}
	var out struct{ Accepted []map[string]any }
	if err := json.Unmarshal(b, &out); err != nil || len(out.Accepted) != 1 {
		w.t.Fatalf("ingest answered %s", b)
	}
	return out.Accepted[0]
}

func TestASilenceStopsPagesAndItsDecisionsAreStillExplained(t *testing.T) {
	w := startSetup(t, setup{replicas: 2, clock: &shiftClock{}})
	ctx := context.Background()
	// The outage is announced to the second replica; either decides.
	added, err := w.escalationOf(1).AddSilence(ctx, &fbv1.AddSilenceRequest{Silence: &fbv1.Silence{
		Matchers: []*fbv1.Matcher{
			{Name: "brand", Type: fbv1.MatchType_MATCH_TYPE_EQUAL, Value: "acme"},
			{Name: "topic", Type: fbv1.MatchType_MATCH_TYPE_EQUAL, Value: "outage"},
		},
		Comment: "broadband outage north",
		EndsAt:  timestamppb.New(time.Now().Add(2 * time.Hour)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Outage complaints, one from an author whose audience rivals the
	// brand's, and one complaint about something else.
	outage := []post{
		{"5001", "north-1", "@acme broadband down again, no internet since this morning", 900},
		{"5002", "north-2", "@acme internet is down, nothing works. Awful service", 1200},
		{"5003", "north-3", "@acme still no internet, the network has been down for hours", 332000},
	}
	for i, p := range outage {
		w.acceptAt(i%2, p.id, fmt.Sprintf(`{"platform":"x","platform_id":%q,"brand":"acme","author":{"id":%q,"handle":%q,"followers":%d},"text":%q}`,
			p.id, p.author, p.author, p.followers, p.text))
	}
	w.acceptAt(1, "5004", `{"platform":"x","platform_id":"5004","brand":"acme","author":{"id":"bill","handle":"bill","followers":800},"text":"@acme you charged me twice this month, awful"}`)

	w.decision("x:5004")
	for _, p := range outage {
		w.decision("x:" + p.id)
	}
	// The standard route holds its first page; a silence during the hold
	// still mutes it when the hold ends.
	w.skip(holdOver)
	w.pagesAbout("bill", 1) // the complaint nobody silenced pages as ever
	for _, p := range outage {
		d := w.decision("x:" + p.id)
		if !d.Escalate || d.Silenced.GetId() != added.Silence.Id {
			t.Fatalf("%s: decision %v, want it made, escalating, and silenced", p.author, d)
		}
		if !hasReason(d.Reasons, "silenced by 'broadband outage north', until ") || !hasReason(d.Reasons, "by "+added.Silence.CreatedBy) {
			t.Fatalf("%s: reasons %v do not say which silence, until when and by whom", p.author, d.Reasons)
		}
		c, timeline := w.caseOf(d.CaseId)
		if c.State != fbv1.CaseState_CASE_STATE_OPEN || len(timeline) == 0 || timeline[0].Silenced.GetId() != added.Silence.Id {
			t.Fatalf("%s: case %s %v with timeline %v: want it opened, and its opening marked silenced", p.author, c.Id, c.State, timeline)
		}
	}
	w.settle()
	for _, p := range outage {
		if pages := w.hook.about(p.author); len(pages) != 0 {
			t.Fatalf("a silenced decision paged: %v", pages)
		}
	}

	// Expired, the silence stops muting: the next outage complaint pages.
	if _, err := w.escalationOf(0).ExpireSilence(ctx, &fbv1.ExpireSilenceRequest{Id: added.Silence.Id}); err != nil {
		t.Fatal(err)
	}
	w.acceptAt(0, "5005", `{"platform":"x","platform_id":"5005","brand":"acme","author":{"id":"north-4","handle":"north-4","followers":700},"text":"@acme broadband down, no internet at all"}`)
	w.decision("x:5005")
	w.skip(holdOver)
	w.pagesAbout("north-4", 1)
}
