package policy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"cel.dev/cel-go/cel"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/hours"
)

// replyRules are the parsed reply and first-response settings.
type replyRules struct {
	answer             *program
	privateReplyWithin time.Duration
	respondWithin      map[fbv1.Priority]time.Duration
	warnAt             float64
	hours              hours.Schedule
}

func (p *Policy) parseReplies(env *cel.Env, d document) []Problem {
	var errs []Problem
	// Answer, private_reply_within and warn_at left out are default.yaml's
	// (withShippedSettings).
	r := replyRules{respondWithin: map[fbv1.Priority]time.Duration{}}
	src := strings.TrimSpace(d.Answer)
	var err error
	if r.answer, err = compile(env, src); err != nil {
		errs = append(errs, p.top("answer", "answer %q: %v", src, err))
	}
	r.privateReplyWithin, err = time.ParseDuration(d.PrivateReplyWithin)
	if err != nil || r.privateReplyWithin <= 0 {
		errs = append(errs, p.top("private_reply_within", "private_reply_within %q: want a positive duration such as 2h", d.PrivateReplyWithin))
	}
	for _, name := range slices.Sorted(maps.Keys(d.RespondWithin)) {
		prio, err := parsePriority(name)
		if err != nil {
			errs = append(errs, Problem{Line: p.lines.line("respond_within", name), Message: "respond_within: " + err.Error()})
			continue
		}
		within, err := time.ParseDuration(d.RespondWithin[name])
		if err != nil || within <= 0 {
			errs = append(errs, Problem{Line: p.lines.line("respond_within", name),
				Message: fmt.Sprintf("respond_within %s %q: want a positive duration such as 15m", name, d.RespondWithin[name])})
			continue
		}
		r.respondWithin[prio] = within
	}
	if r.warnAt, err = parseShare(d.WarnAt); err != nil {
		errs = append(errs, p.top("warn_at", "warn_at %q: %v", d.WarnAt, err))
	}
	if d.BusinessHours != nil {
		if r.hours, err = hours.Parse(*d.BusinessHours); err != nil {
			for _, e := range split(err) {
				errs = append(errs, Problem{Where: "business_hours", Line: p.lines.line("business_hours"), Message: e.Error()})
			}
		}
	}
	p.replies = r
	return errs
}

// parseShare reads "80%" or "0.8" as a share strictly between 0 and 1.
func parseShare(s string) (float64, error) {
	s = strings.TrimSpace(s)
	div := 1.0
	if strings.HasSuffix(s, "%") {
		s, div = strings.TrimSuffix(s, "%"), 100
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v/div <= 0 || v/div >= 1 {
		return 0, errors.New("want a share of the target such as 80%")
	}
	return v / div, nil
}

// Answers reports whether a brand reply counts as an answer under the
// policy's answer expression, and why, in plain words. A reply with no
// check (the scorer did not run one) counts, as before the check existed.
func (p *Policy) Answers(m *fbv1.Mention, check *fbv1.ReplyCheck) (bool, string) {
	if check == nil {
		return true, "counted as an answer (not checked)"
	}
	a := activation{in: p.empty}
	if m != nil {
		a.in.mention = m
	}
	a.in.reply = check
	frame, err := newBoundedFrame(context.Background(), &a, p.replies.answer.loops)
	if err != nil {
		return true, "counted as an answer (the answer rule could not run: " + err.Error() + ")"
	}
	defer frame.done()
	ok, err := p.replies.answer.eval(&frame)
	switch {
	case err != nil:
		// Failing open would hide a bad reply; failing closed keeps the
		// author's streak, which is the safer error for the customer.
		return false, "not counted as an answer: the policy's answer rule failed: " + err.Error()
	case ok && check.MovesPrivate:
		return false, "moved the conversation to private messages; answered only when the brand replies there"
	case ok:
		return true, "counted as an answer: passed the reply check"
	}
	return false, "not counted as an answer: " + FindingWords(check, m.GetText())
}

// FindingWords names a check's findings of warning severity and above in
// plain words, most severe first, each once, with the words of the reply
// text it is about: `it minimises the complaint ("That's a bit harsh")`.
func FindingWords(check *fbv1.ReplyCheck, text string) string {
	var words []string
	quotes := map[string][]string{}
	for _, sev := range []fbv1.Severity{fbv1.Severity_SEVERITY_CRITICAL, fbv1.Severity_SEVERITY_WARNING} {
		for _, f := range check.GetFindings() {
			if f.Severity != sev {
				continue
			}
			w := findingWord(f)
			if _, seen := quotes[w]; !seen {
				words = append(words, w)
			}
			if q := span(text, f); q != "" && !slices.Contains(quotes[w], q) {
				quotes[w] = append(quotes[w], q)
			} else if quotes[w] == nil {
				quotes[w] = []string{}
			}
		}
	}
	if len(words) == 0 {
		if check.GetNoWayForward() {
			return "it gives the customer no way forward (no action, offer, question, link or contact)"
		}
		return "the policy's answer rule said no"
	}
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = w
		if q := quotes[w]; len(q) > 0 {
			parts[i] += " (" + strings.Join(q, ", ") + ")"
		}
	}
	return strings.Join(parts, "; ")
}

// maxSpan bounds a quoted span, in bytes.
const maxSpan = 80

// span quotes the part of text a finding is about, "" when its offsets do
// not fit the text.
func span(text string, f *fbv1.Finding) string {
	start, end := int(f.Start), int(f.End)
	if start < 0 || end <= start || end > len(text) || !utf8.ValidString(text[start:end]) {
		return ""
	}
	s := strings.TrimSpace(text[start:end])
	if len(s) > maxSpan {
		return ""
	}
	return strconv.Quote(s)
}

func findingWord(f *fbv1.Finding) string {
	if f.Message != "" {
		return f.Message
	}
	return strings.ReplaceAll(f.Code, "_", " ")
}

// PrivateReplyWithin is how long a move to private messages waits for the
// brand's private reply before the case escalates.
func (p *Policy) PrivateReplyWithin() time.Duration { return p.replies.privateReplyWithin }

// RespondBy is the first-response deadline for a case of priority prio whose
// first unanswered complaint was made at since, and the moment to warn
// before it; both zero when the policy sets no target for prio.
func (p *Policy) RespondBy(prio fbv1.Priority, since time.Time) (due, warn time.Time) {
	within, ok := p.replies.respondWithin[prio]
	if !ok || since.IsZero() {
		return time.Time{}, time.Time{}
	}
	h := p.replies.hours
	return h.Add(since, within), h.Add(since, time.Duration(float64(within)*p.replies.warnAt))
}

// RespondWithin is the first-response target for prio, zero if none.
func (p *Policy) RespondWithin(prio fbv1.Priority) time.Duration {
	return p.replies.respondWithin[prio]
}

// Hours is the schedule first-response targets are counted in.
func (p *Policy) Hours() hours.Schedule { return p.replies.hours }
