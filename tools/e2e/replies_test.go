package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// fastReplyPolicy is the default policy with its reply clocks shortened so
// that a test can watch them run out.
func fastReplyPolicy(t *testing.T) string {
	t.Helper()
	src := string(policy.DefaultYAML())
	for old, fast := range map[string]string{
		"private_reply_within: 2h": "private_reply_within: 1s",
		"  NORMAL: 4h":             "  NORMAL: 3s",
	} {
		if !strings.Contains(src, old) {
			t.Fatalf("the default policy no longer says %q; update this test", old)
		}
		src = strings.Replace(src, old, fast, 1)
	}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// brandPost is a brand reply as a care tool posts it to ingest.
type brandPost struct {
	id, to, text string
	private      bool
}

func (w *world) reply(p brandPost) {
	w.t.Helper()
	visibility := "public"
	if p.private {
		visibility = "private"
	}
	body := fmt.Sprintf(`{"platform":"x","platform_id":%q,"brand":"acme","author":{"id":"acme-id","handle":"acme","followers":203000},"brand_reply":true,"reply_to_author_id":%q,"visibility":%q,"text":%q}`,
		p.id, p.to, visibility, p.text)
	w.accept(p.id, body)
}

// reply waits until the case holds the brand reply with id.
func (w *world) replyOn(caseID, replyID string) (*fbv1.Case, *fbv1.BrandReply) {
	w.t.Helper()
	var c *fbv1.Case
	var r *fbv1.BrandReply
	testkit.Eventually(w.t, "brand reply "+replyID+" on case "+caseID, func() bool {
		c, _ = w.caseOf(caseID)
		for _, kept := range c.Replies {
			if kept.MentionId == replyID {
				r = kept
				return true
			}
		}
		return false
	})
	return c, r
}

// pageWith waits for a page about handle whose title says text.
func (w *world) pageWith(handle, text string) page {
	w.t.Helper()
	var found page
	testkit.Eventually(w.t, fmt.Sprintf("a page about @%s saying %q", handle, text), func() bool {
		for _, p := range w.hook.about(handle) {
			if strings.Contains(p.Title, text) {
				found = p
				return true
			}
		}
		return false
	})
	return found
}

func TestBrandReplies(t *testing.T) {
	w := startWith(t, map[string][]string{"escalation": {"--policy-file=" + fastReplyPolicy(t)}})

	t.Run("HostilePublicReplyToAHighReachCustomerPagesCritical", func(t *testing.T) {
		w := w.on(t)
		t.Parallel()
		var last *fbv1.Decision
		for i, text := range []string{"my broadband has been down for 5 days. Nobody has fixed it.", "still no engineer, still no answer. Second time asking.", "third complaint, still nothing. Worst service I have ever paid for."} {
			id := fmt.Sprintf("story-%d", i+1)
			w.post(post{id: id, author: "dan", followers: 332_000, text: "@acme " + text})
			last = w.decision("x:" + id)
		}
		w.reply(brandPost{id: "story-reply", to: "dan", text: "@dan That's a bit harsh. Calm down and wait like everyone else."})
		p := w.pageWith("dan", "Calm down and wait like everyone else.")
		if !strings.Contains(p.Title, "critical") || !strings.Contains(p.Title, "public reply to @dan") || p.Action != "trigger" {
			t.Errorf("page %q: want a critical trigger naming the public reply to @dan", p.Title)
		}
		c, r := w.replyOn(last.CaseId, "x:story-reply")
		if r.Answered || len(r.Check.GetFindings()) == 0 || c.Priority != fbv1.Priority_PRIORITY_CRITICAL {
			t.Errorf("case %s priority %s; reply answered %v findings %v", c.Id, c.Priority, r.Answered, r.Check.GetFindings())
		}
	})

	t.Run("PowerlessReplyIsNoAnswerAndTheNextComplaintEscalatesAsUnanswered", func(t *testing.T) {
		w := w.on(t)
		t.Parallel()
		for i := 1; i <= 2; i++ {
			w.post(post{id: fmt.Sprintf("powerless-%d", i), author: "pat", followers: 60, text: complaint})
			w.decision(fmt.Sprintf("x:powerless-%d", i))
		}
		w.reply(brandPost{id: "powerless-reply", to: "pat", text: "@pat We're sorry you had a bad experience."})
		d2 := w.decision("x:powerless-2")
		_, r := w.replyOn(d2.CaseId, "x:powerless-reply")
		if r.Answered {
			t.Fatalf("a powerless reply counted as an answer: %s", r.Why)
		}
		w.post(post{id: "powerless-3", author: "pat", followers: 60, text: complaint})
		d3 := w.decision("x:powerless-3")
		if d3.Team != "senior" || d3.History.UnansweredStreak != 3 || !hasReason(d3.Reasons, "none answered") {
			t.Fatalf("third complaint after a powerless reply: team %q streak %d reasons %v", d3.Team, d3.History.UnansweredStreak, d3.Reasons)
		}
	})

	t.Run("GoodReplyAnswers", func(t *testing.T) {
		w := w.on(t)
		t.Parallel()
		w.post(post{id: "good-1", author: "gia", followers: 60, text: complaint})
		d := w.decision("x:good-1")
		w.reply(brandPost{id: "good-reply", to: "gia", text: "@gia So sorry about this, Gia. We've rebooked you on the 18:05 tonight and emailed the details; reply here if anything is wrong."})
		c, r := w.replyOn(d.CaseId, "x:good-reply")
		if !r.Answered || c.AnsweredBy != "x:good-reply" || c.FirstResponseAt == nil {
			t.Fatalf("good reply: answered %v (%s), answered_by %q", r.Answered, r.Why, c.AnsweredBy)
		}
	})

	t.Run("DMUsWithNoPrivateReplyEscalates", func(t *testing.T) {
		w := w.on(t)
		t.Parallel()
		w.post(post{id: "dm-1", author: "dee", followers: 60, text: complaint})
		d := w.decision("x:dm-1")
		w.reply(brandPost{id: "dm-reply", to: "dee", text: "@dee Sorry to hear this. Please DM us your booking reference and we'll take a look."})
		if _, r := w.replyOn(d.CaseId, "x:dm-reply"); r.Answered || !r.Check.GetMovesPrivate() {
			t.Fatalf("hand-off reply: answered %v, moves_private %v", r.Answered, r.Check.GetMovesPrivate())
		}
		w.pageWith("dee", "moved to private messages")
	})

	t.Run("DMUsThenAPrivateReplyAnswers", func(t *testing.T) {
		w := w.on(t)
		t.Parallel()
		w.post(post{id: "dmok-1", author: "eli", followers: 60, text: complaint})
		d := w.decision("x:dmok-1")
		w.reply(brandPost{id: "dmok-reply", to: "eli", text: "@eli Sorry about this. Please send us a DM so we can help."})
		w.replyOn(d.CaseId, "x:dmok-reply")
		w.reply(brandPost{id: "dmok-private", to: "eli", private: true, text: "Hi Eli, I've refunded the cancelled leg; you'll see it within 3 working days. Anything else, just reply here."})
		c, r := w.replyOn(d.CaseId, "x:dmok-private")
		if !r.Answered || c.PrivateHandoffAt != nil || c.AnsweredBy != "x:dmok-private" {
			t.Fatalf("private answer: answered %v (%s), hand-off %v, answered_by %q", r.Answered, r.Why, c.PrivateHandoffAt, c.AnsweredBy)
		}
	})

	t.Run("FirstResponseBreachFiresTheChain", func(t *testing.T) {
		w := w.on(t)
		t.Parallel()
		w.post(post{id: "slow-1", author: "sol", followers: 60, text: complaint})
		d := w.decision("x:slow-1")
		// The standard route holds its first page (the policy's hold), so
		// the case may still be at level 0: the breach raises it one level
		// from wherever it stands, and pages at once.
		before, _ := w.caseOf(d.CaseId)
		p := w.pageWith("sol", "no answer for 3s")
		next := before.Level + 1
		if !strings.Contains(p.Title, fmt.Sprintf("level %d", next)) {
			t.Errorf("breach page %q: want the chain's next level, %d", p.Title, next)
		}
		if c, _ := w.caseOf(d.CaseId); !c.Breached || c.Level != next {
			t.Errorf("case breached %v at level %d, want level %d", c.Breached, c.Level, next)
		}
	})

	t.Run("LateComplaintIsCountedInEventTime", func(t *testing.T) {
		w := w.on(t)
		t.Parallel()
		now := time.Now().UTC()
		for i, ago := range []time.Duration{20 * time.Minute, 10 * time.Minute} {
			w.postAt(post{id: fmt.Sprintf("late-%d", i+2), author: "lou", followers: 60, text: complaint}, now.Add(-ago))
			w.decision(fmt.Sprintf("x:late-%d", i+2))
		}
		// The first complaint arrives last, with the earliest timestamp.
		w.postAt(post{id: "late-1", author: "lou", followers: 60, text: complaint}, now.Add(-30*time.Minute))
		d := w.decision("x:late-1")
		if d.History.ComplaintsInWindow != 1 {
			t.Errorf("the late complaint saw %d complaints at its own time, want 1", d.History.ComplaintsInWindow)
		}
		c, _ := w.caseOf(d.CaseId)
		if len(c.MentionIds) != 3 {
			t.Fatalf("case %s holds %v, want all three complaints", c.Id, c.MentionIds)
		}
		list, err := w.escalation.ListCases(context.Background(), &fbv1.ListCasesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, lc := range list.Cases {
			if lc.Author.GetHandle() == "lou" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d cases for @lou, want the one case revised", n)
		}
	})
}

// postAt posts a complaint made at a given time.
func (w *world) postAt(p post, at time.Time) {
	w.t.Helper()
	body := fmt.Sprintf(`{"platform":"x","platform_id":%q,"brand":"acme","author":{"id":%q,"handle":%q,"followers":%d},"text":%q,"created_at":%q}`,
		p.id, p.author, p.author, p.followers, p.text, at.Format(time.RFC3339Nano))
	w.accept(p.id, body)
}
