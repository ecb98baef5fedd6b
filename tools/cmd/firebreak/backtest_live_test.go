package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// caseOutcome is what a case comes to, in the words both sides share.
type caseOutcome struct {
	Author, Team, Priority, Codes string
	Paged                         bool
}

// liveVerdict is what one customer mention was decided.
type liveVerdict struct {
	Route               string
	Complaint, Escalate bool
	InWindow, Streak    int32
	Team, Priority      string
}

func reasonCodes(rs []string) string { slices.Sort(rs); return strings.Join(slices.Compact(rs), ",") }

// TestBacktestDecidesAsTheLiveServiceDoes posts a small mixed file to a
// running Firebreak (all five services in this process, the default
// policy) and backtests the same file: a rival-reach complaint, a repeat
// complainer the brand answers between his second and third complaint, and
// the brand's reply. Each mention's route, escalation and history, and each
// case's author, team, priority, reasons and page, must be the same.
//
// The mentions are a minute apart and the backtest stops at the last one,
// the live test ends within seconds: no chain level falls due on either
// side. The standard route's 2m hold on sam's first complaint ends in the
// replay (it pages level 1 at minute 3) and not live, but his third
// complaint raises the case to senior's first level on both sides first
// or anyway, so the outcomes compared are the same.
func TestBacktestDecidesAsTheLiveServiceDoes(t *testing.T) {
	base := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)
	at := func(minute int) string { return base.Add(time.Duration(minute) * time.Minute).Format(time.RFC3339) }
	lines := []string{
		fmt.Sprintf(`{"platform":"x","platform_id":"lv-1","brand":"acme","author":{"id":"u42","handle":"dan","followers":332000},"text":"@acme my broadband has been down for 5 days. Nobody has fixed it.","created_at":%q}`, at(0)),
		fmt.Sprintf(`{"platform":"x","platform_id":"lv-2","brand":"acme","author":{"id":"u7","handle":"sam","followers":40},"text":"@acme still no refund after two weeks, this is awful","created_at":%q}`, at(1)),
		fmt.Sprintf(`{"platform":"x","platform_id":"lv-3","brand":"acme","author":{"id":"u7","handle":"sam","followers":40},"text":"@acme second time asking: where is my refund? Useless.","created_at":%q}`, at(2)),
		fmt.Sprintf(`{"platform":"x","platform_id":"lv-4","brand":"acme","author":{"id":"acme-id","handle":"acme","followers":203000},"brand_reply":true,"reply_to_author_id":"u7","reply_to_id":"lv-3","text":"@sam so sorry for the wait. Your refund of 40 pounds was sent today, reference R-4471; it reaches your card within 3 days.","created_at":%q}`, at(3)),
		fmt.Sprintf(`{"platform":"x","platform_id":"lv-5","brand":"acme","author":{"id":"u7","handle":"sam","followers":40},"text":"@acme third complaint: the refund never arrived. Worst service ever.","created_at":%q}`, at(4)),
	}

	st, _ := startFirebreak(t, map[string][]string{
		"reach":  {"--brand-followers=acme=203000"},
		"ingest": {"--brand-accounts=acme=x:acme-id"},
	})
	conn, err := rpc.Dial(st.Escalation.GRPCAddr(), st.Token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	esc := fbv1.NewEscalationServiceClient(conn)
	ctx := context.Background()

	// Live: one mention at a time, each decided before the next is posted,
	// as a file replayed in event time is.
	live := map[string]liveVerdict{}
	for _, line := range lines {
		req, _ := http.NewRequest(http.MethodPost, "http://"+st.Ingest.HTTPAddr()+"/v1/mentions", strings.NewReader(line))
		req.Header.Set("Authorization", "Bearer "+st.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("ingest refused %s: %d %s", line, resp.StatusCode, body)
		}
		if strings.Contains(line, `"brand_reply":true`) {
			testkit.Eventually(t, "the brand's reply on sam's case", func() bool {
				cs, err := esc.ListCases(ctx, &fbv1.ListCasesRequest{Brand: "acme"})
				return err == nil && slices.ContainsFunc(cs.Cases, func(c *fbv1.Case) bool { return c.Author.GetId() == "u7" && c.RepliesTotal > 0 })
			})
			continue
		}
		id := "x:" + strings.Split(strings.Split(line, `"platform_id":"`)[1], `"`)[0]
		var d *fbv1.Decision
		testkit.Eventually(t, "the live decision on "+id, func() bool {
			resp, err := esc.ExplainDecision(ctx, &fbv1.ExplainDecisionRequest{MentionId: id})
			if err == nil {
				d = resp.Decision
			}
			return err == nil
		})
		v := liveVerdict{Route: d.Route, Complaint: d.Complaint, Escalate: d.Escalate,
			InWindow: d.History.GetComplaintsInWindow(), Streak: d.History.GetUnansweredStreak()}
		if d.Escalate {
			v.Team, v.Priority = d.Team, priorityName(d.Priority)
		}
		live[id] = v
	}
	listed, err := esc.ListCases(ctx, &fbv1.ListCasesRequest{Brand: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	liveCases := map[string]caseOutcome{}
	for _, c := range listed.Cases {
		var cs []string
		for _, r := range c.Reasons {
			cs = append(cs, r.Code)
		}
		liveCases[c.Author.GetId()] = caseOutcome{Author: c.Author.GetId(), Team: c.Team, Priority: priorityName(c.Priority), Codes: reasonCodes(cs), Paged: c.Level >= 1}
	}

	// The backtest of the same file.
	r := runJSON(t, "--policy", "default", "--in", writeFile(t, "mixed.ndjson", strings.Join(lines, "\n")+"\n"), "--brand-followers", "acme=203000")
	replayed := map[string]liveVerdict{}
	for _, d := range r.Policy.Decisions {
		if d.BrandReply {
			continue
		}
		replayed[d.MentionID] = liveVerdict{Route: d.Route, Complaint: d.Complaint, Escalate: d.Escalate,
			InWindow: d.Complaints, Streak: d.Streak, Team: d.Team, Priority: d.Priority}
	}
	replayedCases := map[string]caseOutcome{}
	for _, c := range r.Policy.Cases {
		var cs []string
		for _, reason := range c.Reasons {
			cs = append(cs, reason.Code)
		}
		replayedCases[c.Author] = caseOutcome{Author: c.Author, Team: c.Team, Priority: c.Priority, Codes: reasonCodes(cs), Paged: c.Level >= 1}
	}

	for id, want := range live {
		if got := replayed[id]; got != want {
			t.Errorf("mention %s: backtest decided %+v, the service %+v", id, got, want)
		}
	}
	if len(replayed) != len(live) {
		t.Errorf("backtest decided %d customer mentions, the service %d", len(replayed), len(live))
	}
	for author, want := range liveCases {
		if got := replayedCases[author]; got != want {
			t.Errorf("case of %s: backtest %+v, the service %+v", author, got, want)
		}
	}
	if len(replayedCases) != len(liveCases) {
		t.Errorf("backtest opened %d cases, the service %d: %v vs %v", len(replayedCases), len(liveCases), replayedCases, liveCases)
	}
	// The story itself, so a change that breaks both sides alike is caught.
	if c := liveCases["u42"]; c.Team != "senior" || c.Priority != "CRITICAL" || !c.Paged {
		t.Errorf("rival-reach case: %+v, want senior, CRITICAL, paged", c)
	}
	if v := live["x:lv-5"]; v.Route == "" || v.InWindow != 3 || v.Team != "senior" {
		t.Errorf("sam's third complaint: %+v, want the repeat route to senior with 3 in the window", v)
	}
}
