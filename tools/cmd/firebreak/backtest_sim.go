package main

import (
	"slices"
	"strings"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/history"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/reply"
	"github.com/firebreak/firebreak/services/escalation/silence"
	"github.com/firebreak/firebreak/services/platform/store"
)

// The backtest replays mentions in event time through a policy and the
// escalation service's own rules: the same decision (policy.Decide), the
// same case life (cases.Decide), the same judgement of brand replies
// (reply.Judge), the same history (history.Book, held to the Redis
// scripts by one contract table) and the same clocks (cases.Tick: chain
// levels, first-response warnings and breaches, private hand-offs). Nobody
// acknowledges in a replay, so each case's chain climbs as it would with
// nobody on call; the brand's replies answer, or do not, as they would live.

// replayInput is the input shared by every policy in a run: the mentions in
// event time with their scores (brand replies carry the reply check) and
// reaches (nil for brand replies, and when the file has no follower count).
type replayInput struct {
	mentions []*fbv1.Mention
	scores   []*fbv1.Score
	reaches  []*fbv1.Reach
	// silences mute pages as the live ones would (--silences).
	silences []*silence.Silence
}

// decisionRecord is one mention's decision.
type decisionRecord struct {
	MentionID  string       `json:"mention_id"`
	At         time.Time    `json:"at"`
	Brand      string       `json:"brand"`
	Author     string       `json:"author"`
	BrandReply bool         `json:"brand_reply,omitempty"`
	Complaint  bool         `json:"complaint"`
	Escalate   bool         `json:"escalate"`
	Team       string       `json:"team,omitempty"`
	Priority   string       `json:"priority,omitempty"`
	Route      string       `json:"route,omitempty"`
	Reasons    []reasonJSON `json:"reasons,omitempty"`
	Complaints int32        `json:"complaints_in_window"`
	Streak     int32        `json:"unanswered_streak"`
	Tier       string       `json:"tier"`
	CaseID     string       `json:"case_id,omitempty"`

	priority fbv1.Priority
}

type reasonJSON struct {
	Code string `json:"code"`
	Text string `json:"text"`
}

// replyRecord is one brand reply as judged.
type replyRecord struct {
	MentionID string    `json:"mention_id"`
	At        time.Time `json:"at"`
	To        string    `json:"to"`
	Answered  bool      `json:"answered"`
	Why       string    `json:"why"`
	Findings  []string  `json:"findings,omitempty"`
	Handoff   bool      `json:"handoff,omitempty"`
	CaseID    string    `json:"case_id,omitempty"`
}

// caseRecord is a case as the service would have kept it.
type caseRecord struct {
	ID         string       `json:"id"`
	Brand      string       `json:"brand"`
	Author     string       `json:"author"`
	OpenedAt   time.Time    `json:"opened_at"`
	Team       string       `json:"team"`
	Chain      string       `json:"chain"`
	Priority   string       `json:"priority"`
	Reasons    []reasonJSON `json:"reasons"`
	MentionIDs []string     `json:"mention_ids"`
	Pages      []pageRecord `json:"pages"`
	// Level is the highest chain level paged.
	Level int `json:"level"`
	// AnsweredAt is the brand's first answer (a reply that passed the
	// check) after the case opened.
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	Breached   bool       `json:"breached,omitempty"`
	// HandoffUnanswered: moved to private messages with no private reply
	// in time.
	HandoffUnanswered bool   `json:"handoff_unanswered,omitempty"`
	State             string `json:"state"`
	// Hold is what became of a first page a route's hold kept back:
	// "held" (still held at the end of the data), "joined" (an incident,
	// Incident, when the hold ended: paging nobody) or "paged" (at the
	// hold's end); empty when nothing was held.
	Hold     string `json:"hold,omitempty"`
	Incident string `json:"incident,omitempty"`
}

// What became of a held first page (caseRecord.Hold).
const (
	holdHeld   = "held"
	holdJoined = "joined"
	holdPaged  = "paged"
)

// pageRecord is one event that paged: a case opening, reopening or
// escalating, with why.
type pageRecord struct {
	Level     int       `json:"level"`
	Round     int       `json:"round"`
	At        time.Time `json:"at"`
	Receivers []string  `json:"receivers"`
	Cause     string    `json:"cause"`
}

// author is what the replay knows of one author towards one brand.
type author struct {
	key, tag string
	current  cases.Current
	latest   *fbv1.Mention // their latest mention
	reach    *fbv1.Reach
	answered time.Time // the brand's last answer
}

// silencedRecord is a decision a silence muted: made and recorded, paging
// nobody.
type silencedRecord struct {
	MentionID string    `json:"mention_id"`
	At        time.Time `json:"at"`
	Author    string    `json:"author"`
	Silence   string    `json:"silence"`
	Comment   string    `json:"comment"`
	Reason    string    `json:"reason"`
	CaseID    string    `json:"case_id,omitempty"`
}

// simulation is one policy's run over a replay.
type simulation struct {
	silences  []*silence.Silence
	silenced  []silencedRecord
	policy    *policy.Policy
	settings  cases.Settings
	book      *history.Book
	authors   map[string]*author
	byCase    map[string]*caseRecord
	cases     []*caseRecord
	decisions []decisionRecord
	replies   []replyRecord
	surges    *surges
	// held are the authors whose case's first page is held.
	held map[string]*author
}

// simulate replays in through p. progress, if not nil, is called with the
// number of mentions done.
func simulate(p *policy.Policy, in *replayInput, progress func(done int)) *simulation {
	s := &simulation{policy: p, silences: in.silences, book: history.NewBook(p.Window()), authors: map[string]*author{}, byCase: map[string]*caseRecord{},
		settings: cases.Settings{Reopen: cases.DefaultReopen, Chain: p.Chain, RespondBy: p.RespondBy}, surges: newSurges(p),
		held: map[string]*author{}}
	for i, m := range in.mentions {
		at := m.GetCreatedAt().AsTime()
		s.advance(at)
		if m.GetBrandReply() {
			s.reply(m, in.scores[i], at)
		} else {
			s.decide(m, in.scores[i], in.reaches[i], at)
		}
		if progress != nil && i%256 == 0 {
			progress(i)
		}
	}
	if n := len(in.mentions); n > 0 {
		s.advance(in.mentions[n-1].GetCreatedAt().AsTime())
	}
	return s
}

func (s *simulation) author(brand string, p fbv1.Platform, id string) *author {
	key := ledger.AuthorKey(brand, p, id)
	a, ok := s.authors[key]
	if !ok {
		a = &author{key: key, tag: store.Tag(key)}
		s.authors[key] = a
	}
	return a
}

func (s *simulation) decide(m *fbv1.Mention, sc *fbv1.Score, reach *fbv1.Reach, at time.Time) {
	a := s.author(m.GetBrand(), m.GetPlatform(), m.GetAuthor().GetId())
	complaint := s.policy.Complaint(sc)
	var hist *fbv1.History
	if complaint {
		hist = s.book.Complaint(a.key, m.GetId(), at)
	} else {
		hist = s.book.At(a.key, at)
	}
	a.latest = m
	if reach != nil {
		a.reach = reach
	}
	var sf *policy.SurgeFacts
	if complaint {
		sf = s.surges.complaint(m, sc, a.key, at)
	}
	d := s.policy.Decide(policy.Input{Mention: m, Score: sc, Reach: reach, History: hist, Surge: sf}, at)
	d.AuthorKey = a.key
	c, events := cases.Decide(a.current, a.tag, d, m, s.settings, at)
	if d.Quiet {
		for _, e := range events {
			e.Quiet = true
		}
	}
	s.surges.joined(d, m, reach)
	s.mute(d, m, nil, c, events, at)
	s.apply(a, c, events)
	rec := decisionRecord{
		MentionID: m.GetId(), At: at, Brand: m.GetBrand(), Author: m.GetAuthor().GetId(),
		Complaint: d.Complaint, Escalate: d.Escalate, Route: d.Route, Reasons: reasonsJSON(d.Reasons),
		Complaints: hist.GetComplaintsInWindow(), Streak: hist.GetUnansweredStreak(), Tier: tierName(reach),
		priority: d.Priority,
	}
	if d.Escalate {
		rec.Team, rec.Priority = d.Team, priorityName(d.Priority)
		if c != nil {
			rec.CaseID = c.Id
		} else if a.current.Case != nil {
			rec.CaseID = a.current.Case.Id
		}
	}
	s.decisions = append(s.decisions, rec)
}

func (s *simulation) reply(m *fbv1.Mention, sc *fbv1.Score, at time.Time) {
	if m.GetReplyToAuthorId() == "" {
		return
	}
	a := s.author(m.GetBrand(), m.GetPlatform(), m.GetReplyToAuthorId())
	in := policy.Input{Mention: m, Score: sc, Reach: reply.Reach(a.reach, a.current), History: s.book.At(a.key, at), To: reply.To(a.latest, a.current)}
	d := s.policy.Decide(in, at)
	d.AuthorKey = a.key
	out := reply.Judge(s.policy, d, in, a.current, a.tag, s.settings, at)
	s.mute(d, m, in.To, out.Case, out.Events, at)
	if !out.Answer.IsZero() {
		s.book.BrandReply(a.key, out.Answer)
		if out.Answer.After(a.answered) {
			a.answered = out.Answer
		}
	}
	s.apply(a, out.Case, out.Events)
	rec := replyRecord{MentionID: m.GetId(), At: at, To: m.GetReplyToAuthorId(), Answered: out.Reply.Answered, Why: out.Reply.Why,
		Handoff: !out.Handoff.IsZero()}
	for _, f := range sc.GetReply().GetFindings() {
		if f.Severity >= fbv1.Severity_SEVERITY_WARNING {
			rec.Findings = append(rec.Findings, f.Code)
		}
	}
	if out.Case != nil {
		rec.CaseID = out.Case.Id
	}
	s.replies = append(s.replies, rec)
	if d.Escalate {
		s.decisions = append(s.decisions, decisionRecord{MentionID: m.GetId(), At: at, Brand: m.GetBrand(), Author: m.GetReplyToAuthorId(),
			BrandReply: true, Escalate: true, Team: d.Team, Priority: priorityName(d.Priority), Route: d.Route,
			Reasons: reasonsJSON(d.Reasons), Tier: tierName(in.Reach), CaseID: rec.CaseID, priority: d.Priority})
	}
}

// apply keeps a changed case and records the events that paged.
func (s *simulation) apply(a *author, c *fbv1.Case, events []*fbv1.CaseEvent) {
	if c == nil {
		return
	}
	if a.current.Case == nil || a.current.Case.Id != c.Id {
		a.current.N++
	}
	a.current.Case = c
	rec, ok := s.byCase[c.Id]
	if !ok {
		rec = &caseRecord{ID: c.Id, Brand: c.Brand, Author: c.Author.GetId(), OpenedAt: c.OpenedAt.AsTime()}
		s.byCase[c.Id] = rec
		s.cases = append(s.cases, rec)
	}
	rec.Team, rec.Chain, rec.Priority, rec.Reasons = c.Team, c.Chain, priorityName(c.Priority), reasonsJSON(c.Reasons)
	rec.MentionIDs, rec.Breached, rec.HandoffUnanswered = slices.Clone(c.MentionIds), c.Breached, c.HandoffOverdue
	rec.State = cases.StateName(c.State)
	if cases.Held(c) {
		s.held[a.key] = a
		rec.Hold = holdHeld
	} else {
		delete(s.held, a.key)
	}
	if c.IncidentId != "" {
		rec.Incident = c.IncidentId
	}
	if c.FirstResponseAt != nil {
		at := c.FirstResponseAt.AsTime()
		rec.AnsweredAt = &at
	}
	for _, e := range events {
		if len(e.Receivers) == 0 || e.Silenced != nil || e.Quiet {
			continue
		}
		cause := "opened"
		if len(e.Reasons) > 0 && e.Type != fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED {
			cause = e.Reasons[0].Code
		}
		if cause == "hold_ended" {
			rec.Hold = holdPaged
		}
		rec.Pages = append(rec.Pages, pageRecord{Level: int(e.Level), Round: int(e.Round), At: e.At.AsTime(), Receivers: e.Receivers, Cause: cause})
		rec.Level = max(rec.Level, int(e.Level))
	}
}

// mute marks a decision and its events silenced as the service does, and
// records it.
func (s *simulation) mute(d *fbv1.Decision, m *fbv1.Mention, to *fbv1.Author, c *fbv1.Case, events []*fbv1.CaseEvent, at time.Time) {
	sil := silence.Mute(s.silences, d, m, to, events, at)
	if sil == nil {
		return
	}
	rec := silencedRecord{MentionID: m.GetId(), At: at, Author: m.GetAuthor().GetId(), Silence: sil.Id, Comment: sil.Comment,
		Reason: d.Reasons[len(d.Reasons)-1].Text}
	if c != nil {
		rec.CaseID = c.Id
	}
	s.silenced = append(s.silenced, rec)
}

// advance runs every case's clocks up to now, each firing at the moment it
// falls due, as the service's timers would.
func (s *simulation) advance(now time.Time) {
	s.surges.look(now)
	s.endHolds(now)
	for _, a := range s.authors {
		c := a.current.Case
		if c == nil {
			continue
		}
		ch, ok := s.policy.Chain(c.Chain)
		if !ok {
			continue
		}
		k := cases.Clocks{Chain: ch, RepliedAt: a.answered, PrivateReplyWithin: s.policy.PrivateReplyWithin(), RespondWithin: s.policy.RespondWithin}
		for range 64 { // bounded: every clock fires once per level, round or target
			_, _, due := cases.Tick(c, k, time.Time{})
			if due.IsZero() || due.After(now) {
				break
			}
			// A clock already due when the case last changed fires then,
			// as the service's timer would on its next look.
			next, e, _ := cases.Tick(c, k, latest(due, c.UpdatedAt.AsTime()))
			if e == nil {
				break
			}
			silence.MuteCase(s.silences, next, []*fbv1.CaseEvent{e}, e.At.AsTime())
			s.apply(a, next, []*fbv1.CaseEvent{e})
			c = next
		}
	}
}

// endHolds ends the holds that ran out by now, earliest first, as the
// service's timers do: a held case an open incident covers joins it
// quietly, one whose scope is surging waits once more, and any other is
// left to its chain, which pages its first level at the hold's end.
func (s *simulation) endHolds(now time.Time) {
	paging := map[string]bool{}
	for range (cases.MaxHoldWaits+1)*len(s.held) + 1 { // each hold ends a bounded number of times
		var next *author
		var at time.Time
		for _, a := range s.held {
			c := a.current.Case
			due := latest(c.HeldUntil.AsTime(), c.UpdatedAt.AsTime())
			if paging[c.Id] || !cases.HoldOver(c, now) || due.After(now) {
				continue
			}
			if next == nil || due.Before(at) || due.Equal(at) && c.Id < next.current.Case.Id {
				next, at = a, due
			}
		}
		if next == nil {
			return
		}
		c := next.current.Case
		end, why := s.surges.endHold(c, at)
		switch {
		case end.Join:
			joined, e := cases.JoinHeld(c, end.id, why, at)
			s.surges.joinedHeld(end.id, next.key, c)
			s.apply(next, joined, []*fbv1.CaseEvent{e})
			s.byCase[c.Id].Hold = holdJoined
		case end.Wait > 0:
			longer, e := cases.ExtendHold(c, end.Wait, at)
			s.apply(next, longer, []*fbv1.CaseEvent{e})
		default:
			paging[c.Id] = true
		}
	}
}

func reasonsJSON(rs []*fbv1.Reason) []reasonJSON {
	out := make([]reasonJSON, len(rs))
	for i, r := range rs {
		out[i] = reasonJSON{Code: r.GetCode(), Text: r.GetText()}
	}
	return out
}

func priorityName(p fbv1.Priority) string {
	return strings.TrimPrefix(p.String(), "PRIORITY_")
}

func tierName(r *fbv1.Reach) string {
	if r == nil {
		return "UNKNOWN"
	}
	return strings.TrimPrefix(r.GetTier().String(), "TIER_")
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
