// Package reply judges the brand's replies to an author: whether one counts
// as an answer (the policy's answer rule over the reply check), whether it
// hands the author over to private messages, and whether it is itself a
// reason to escalate (the policy's routes, with the author's reach and
// history). It does no I/O, so the escalation service and `firebreak
// backtest` apply the same rules.
package reply

import (
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/policy"
)

// Outcome is what a brand reply does.
type Outcome struct {
	Reply  cases.Reply
	Case   *fbv1.Case // nil when the case does not change
	Events []*fbv1.CaseEvent
	// Answer, when set, is the time from which the author's complaints are
	// answered; Handoff, when set, opens a private hand-off at that time.
	Answer, Handoff time.Time
}

// Judge applies a brand reply, decided by d (the policy's decision on in,
// whose Mention is the reply and To the author it answers), to the author's
// current case. tag is the author's hash tag, for a case the reply opens.
func Judge(pol *policy.Policy, d *fbv1.Decision, in policy.Input, cur cases.Current, tag string, s cases.Settings, now time.Time) Outcome {
	m, check := in.Mention, in.Score.GetReply()
	answered, why := pol.Answers(m, check)
	if d.Escalate {
		answered, why = false, "not counted as an answer: "+policy.FindingWords(check, m.GetText())
	}
	r := cases.Reply{Mention: m, Check: check, Answered: answered, Why: why, To: in.To}
	out := Outcome{Reply: r}
	out.Case, out.Events = cases.DecideReply(cur, tag, d, r, s, now)
	switch at := m.GetCreatedAt().AsTime(); {
	case r.Answered:
		out.Answer = at
	case r.MovesPrivate():
		out.Handoff = at
	}
	return out
}

// To is the author a reply answers, as last seen: on their latest mention,
// or on their case.
func To(latest *fbv1.Mention, cur cases.Current) *fbv1.Author {
	if a := latest.GetAuthor(); a != nil {
		return a
	}
	return cur.Case.GetAuthor()
}

// Reach is the author's latest reach, or their case's.
func Reach(latest *fbv1.Reach, cur cases.Current) *fbv1.Reach {
	if latest != nil {
		return latest
	}
	return cur.Case.GetReach()
}
