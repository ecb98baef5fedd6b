package view

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/wording"
)

// File is everything the case page shows about one case.
type File struct {
	Case     *fbv1.Case
	Author   Author
	Clock    Clock
	Mentions []Mention
	Replies  []Reply
	// RepliesHidden counts brand replies the case no longer lists.
	RepliesHidden int
	// MentionsHidden counts mentions whose ids the case no longer keeps
	// (it keeps the latest few hundred).
	MentionsHidden int64
	Chain          []Level
	Timeline       []Event
	// NextLevel is when the chain fires its next level, zero if never.
	NextLevel time.Time
	// SnoozedUntil is when the chain's snooze ends, zero when it is not
	// snoozed.
	SnoozedUntil time.Time
}

// Author is who the case is about.
type Author struct {
	Handle, Name, ProfileURL string
	Verified                 bool
	Reach                    string
	Tier                     string
}

// Mention is one mention of the case.
type Mention struct {
	ID       string
	Anchor   string // the element id the timeline links to
	Text     string
	Known    bool // false when the text is no longer kept
	Private  bool
	URL      string
	Platform string
	At       time.Time
	// Scored is false when the decision (and so the score) has expired.
	Scored    bool
	Complaint float64
	Sentiment string
	Topics    []string
	Route     string
}

// Reply is one brand reply with what the reply check found in it.
type Reply struct {
	ID, Text, URL, Handle string
	Public                bool
	At                    time.Time
	Findings              []Finding
	Answered              bool
	Why                   string
}

// Finding is one thing the reply check found.
type Finding struct{ Severity, Message string }

// Level is one fired level of the chain with the pages it sent.
type Level struct {
	Level, Round int32
	At           time.Time
	Why          string
	Receivers    []string
	Pages        []Page
}

// Page is the latest delivery to one receiver for one level.
type Page struct {
	Receiver, Type, Outcome string
	Attempts                int32
	At                      time.Time
	Error                   string
	OK                      bool
}

// Event is one line of the timeline.
type Event struct {
	At      time.Time
	What    string
	Actor   string
	Via     string
	Note    string
	Mention string
	Anchor  string
	Level   int32
	Reasons []string
	// TraceID is the trace of the work behind the event; Trace, its link
	// in the tracing UI when one is configured.
	TraceID, Trace string
}

// traceID is a W3C trace id: only such ids are put into a trace link.
var traceID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// LinkTraces links each timeline event to its trace through template, in
// which {trace_id} stands for the id; an empty template links nothing.
func (f *File) LinkTraces(template string) {
	for i, e := range f.Timeline {
		if template != "" && traceID.MatchString(e.TraceID) {
			f.Timeline[i].Trace = strings.ReplaceAll(template, "{trace_id}", e.TraceID)
		}
	}
}

// Build assembles a case's file from the case, its timeline, the decisions
// of its mentions (by mention id; missing ones have expired) and the
// notifier's deliveries.
func Build(c *fbv1.Case, timeline []*fbv1.CaseEvent, decisions map[string]*fbv1.Decision, deliveries []*fbv1.Delivery, now time.Time) File {
	f := File{
		Case:     c,
		Author:   author(c),
		Clock:    FirstResponse(c, now),
		Mentions: mentions(c, decisions),
		Replies:  replies(c),
		Chain:    chainLevels(timeline, deliveries),
		Timeline: events(timeline),
	}
	f.RepliesHidden = max(int(c.RepliesTotal)-len(c.Replies), 0)
	f.MentionsHidden = max(MentionCount(c)-int64(len(c.MentionIds)), 0)
	if c.NextLevelAt != nil && c.State == fbv1.CaseState_CASE_STATE_OPEN {
		f.NextLevel = c.NextLevelAt.AsTime()
	}
	if c.SnoozedUntil != nil && c.SnoozedUntil.AsTime().After(now) && c.State != fbv1.CaseState_CASE_STATE_RESOLVED {
		f.SnoozedUntil = c.SnoozedUntil.AsTime()
	}
	return f
}

func author(c *fbv1.Case) Author {
	a := c.GetAuthor()
	return Author{
		Handle: a.GetHandle(), Name: a.GetName(), Verified: a.GetVerified() || c.GetReach().GetVerified(),
		ProfileURL: ProfileURL(c.Platform, a.GetHandle()),
		Reach:      Reach(a.GetFollowers(), c.Reach), Tier: Tier(c.GetReach().GetTier()),
	}
}

// MentionCount is how many mentions a case holds, counting those whose ids
// it no longer keeps; cases stored before mentions_total have only their
// ids.
func MentionCount(c *fbv1.Case) int64 {
	return max(c.GetMentionsTotal(), int64(len(c.GetMentionIds())))
}

// mentions lists the case's mentions in the order they were made. A
// mention's text comes from its decision; once that has expired, from the
// case's own copies (private messages, and the latest public texts).
func mentions(c *fbv1.Case, decisions map[string]*fbv1.Decision) []Mention {
	tail := recentPublicTexts(c)
	out := make([]Mention, 0, len(c.MentionIds))
	for _, id := range c.MentionIds {
		m := Mention{ID: id, Anchor: Anchor(id), Platform: Platform(c.Platform), URL: WebURL(c.MentionUrls[id])}
		if text, ok := c.PrivateTexts[id]; ok {
			m.Text, m.Known, m.Private = text, true, true
		} else if text, ok := tail[id]; ok {
			m.Text, m.Known = text, true
		}
		if d := decisions[id]; d != nil {
			m.Scored, m.Route = d.Score != nil, d.Route
			m.Complaint, m.Topics = d.GetScore().GetComplaint(), d.GetScore().GetTopics()
			m.Sentiment = wording.Sentiment(d.GetScore().GetSentiment())
			if dm := d.Mention; dm != nil {
				m.Text, m.Known = dm.Text, true
				m.Private = dm.Visibility == fbv1.Visibility_VISIBILITY_PRIVATE
				m.Platform = Platform(dm.Platform)
				if m.URL == "" {
					m.URL = WebURL(dm.Url)
				}
				if dm.CreatedAt != nil {
					m.At = dm.CreatedAt.AsTime()
				}
			}
		}
		out = append(out, m)
	}
	// Event order: by when each was made. A mention whose time is no longer
	// known sorts after every mention the case took in before it.
	keys := make([]time.Time, len(out))
	var latest time.Time
	for i, m := range out {
		keys[i] = m.At
		if m.At.IsZero() {
			keys[i] = latest
		}
		if keys[i].After(latest) {
			latest = keys[i]
		}
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return keys[a].Compare(keys[b]) })
	sorted := make([]Mention, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted
}

// recentPublicTexts maps the case's latest public mentions to the texts
// the case keeps of them: Case.texts holds the last few public texts in the
// order the mentions were attached.
func recentPublicTexts(c *fbv1.Case) map[string]string {
	public := make([]string, 0, len(c.MentionIds))
	for _, id := range c.MentionIds {
		if _, private := c.PrivateTexts[id]; !private {
			public = append(public, id)
		}
	}
	out := map[string]string{}
	n := min(len(public), len(c.Texts))
	for i := range n {
		out[public[len(public)-n+i]] = c.Texts[len(c.Texts)-n+i]
	}
	return out
}

func replies(c *fbv1.Case) []Reply {
	out := make([]Reply, 0, len(c.Replies))
	for _, r := range c.Replies {
		rp := Reply{ID: r.MentionId, Text: r.Text, URL: WebURL(r.Url), Handle: r.Handle,
			Public: r.Visibility != fbv1.Visibility_VISIBILITY_PRIVATE, Answered: r.Answered, Why: r.Why}
		if r.At != nil {
			rp.At = r.At.AsTime()
		}
		for _, f := range r.GetCheck().GetFindings() {
			rp.Findings = append(rp.Findings, Finding{Severity: wording.Severity(f.Severity), Message: f.Message})
		}
		out = append(out, rp)
	}
	return out
}

// chainLevels lists the levels fired, from the timeline's paging events,
// each with the latest delivery to each receiver for that level.
func chainLevels(timeline []*fbv1.CaseEvent, deliveries []*fbv1.Delivery) []Level {
	type key struct {
		level    int32
		receiver string
	}
	latest := map[key]*fbv1.Delivery{}
	var order []key
	for _, d := range deliveries {
		k := key{d.Level, d.Receiver}
		cur, seen := latest[k]
		if !seen {
			order = append(order, k)
		}
		if !seen || !d.At.AsTime().Before(cur.At.AsTime()) {
			latest[k] = d
		}
	}
	var out []Level
	index := map[int32]int{}
	for _, e := range timeline {
		switch e.Type {
		case fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED, fbv1.CaseEventType_CASE_EVENT_TYPE_REOPENED:
		default:
			continue
		}
		l := Level{Level: e.Level, Round: e.Round, Why: EventName(e.Type), Receivers: e.Receivers}
		if e.At != nil {
			l.At = e.At.AsTime()
		}
		index[e.Level] = len(out)
		out = append(out, l)
	}
	for _, k := range order {
		d := latest[k]
		p := Page{Receiver: d.Receiver, Type: d.ReceiverType, Outcome: Outcome(d.Outcome), Attempts: d.Attempt,
			Error: d.Error, OK: d.Outcome == fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED}
		if d.At != nil {
			p.At = d.At.AsTime()
		}
		i, ok := index[k.level]
		if !ok {
			// A page for a level the timeline no longer shows (it is capped).
			index[k.level] = len(out)
			i = len(out)
			out = append(out, Level{Level: k.level, Why: "paged", At: p.At})
		}
		out[i].Pages = append(out[i].Pages, p)
	}
	slices.SortStableFunc(out, func(a, b Level) int { return a.At.Compare(b.At) })
	return out
}

func events(timeline []*fbv1.CaseEvent) []Event {
	out := make([]Event, 0, len(timeline))
	for _, e := range timeline {
		ev := Event{What: EventName(e.Type), Actor: e.Actor, Via: e.AuthMethod, Note: e.Note, Mention: e.MentionId, Level: e.Level, TraceID: e.TraceId}
		if e.Via != "" {
			ev.Via += " as " + e.Via // e.g. "slack as slack:U0CA5"
		}
		if e.At != nil {
			ev.At = e.At.AsTime()
		}
		if ev.Actor == "" {
			ev.Actor = "Firebreak"
		}
		for _, r := range e.Reasons {
			ev.Reasons = append(ev.Reasons, r.Text)
		}
		if e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_REPLIED && e.Reply != nil {
			ev.Mention = e.Reply.MentionId
			ev.Actor = "@" + e.Reply.Handle
		}
		if ev.Mention != "" {
			ev.Anchor = Anchor(ev.Mention)
		}
		out = append(out, ev)
	}
	slices.SortStableFunc(out, func(a, b Event) int { return cmp.Compare(a.At.UnixNano(), b.At.UnixNano()) })
	return out
}

// Anchor is an element id for a mention id: "x:1003" is "m-x-1003".
func Anchor(mentionID string) string {
	b := []byte("m-")
	for _, r := range mentionID {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' {
			b = append(b, string(r)...)
		} else {
			b = append(b, '-')
		}
	}
	return string(b)
}

// Percent formats a 0..1 share as a whole percentage.
func Percent(x float64) string { return strconv.Itoa(int(x*100+0.5)) + "%" }
