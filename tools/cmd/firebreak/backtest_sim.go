package main

import (
	"slices"
	"strconv"
	"strings"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/chain"
	"github.com/firebreak/firebreak/services/escalation/history"
	"github.com/firebreak/firebreak/services/escalation/policy"
)

// The backtest replays mentions in event time through a policy and the same
// history and chain code the escalation service runs, and keeps what the
// service would have done: every decision, and every case with the pages its
// chain fired. Nobody acknowledges in a replay; a brand reply to the author
// answers the case and stops its chain, so the pages show how far each case
// would have climbed before the brand actually answered.

// replayInput is the input shared by every policy in a run: the mentions in event
// time with their scores and reaches (nil for brand replies, and reach nil
// when the file carries no follower count).
type replayInput struct {
	mentions []*fbv1.Mention
	scores   []*fbv1.Score
	reaches  []*fbv1.Reach
}

// decisionRecord is one mention's decision.
type decisionRecord struct {
	MentionID  string       `json:"mention_id"`
	At         time.Time    `json:"at"`
	Brand      string       `json:"brand"`
	Author     string       `json:"author"`
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

// caseRecord is a case as the service would have kept it.
type caseRecord struct {
	ID         string       `json:"id"`
	Brand      string       `json:"brand"`
	Author     string       `json:"author"`
	OpenedAt   time.Time    `json:"opened_at"`
	Team       string       `json:"team"`
	Chain      string       `json:"chain"`
	Priority   string       `json:"priority"`
	Route      string       `json:"route"`
	Reasons    []reasonJSON `json:"reasons"`
	MentionIDs []string     `json:"mention_ids"`
	Pages      []pageRecord `json:"pages"`
	// Level is the highest chain level paged.
	Level      int        `json:"level"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`

	key      string
	priority fbv1.Priority
	chain    chain.Chain
	status   chain.Status
}

// pageRecord is one chain level firing.
type pageRecord struct {
	Level     int       `json:"level"`
	Round     int       `json:"round"`
	At        time.Time `json:"at"`
	Receivers []string  `json:"receivers"`
	Cause     string    `json:"cause"`
}

// simulation is one policy's run over a replay.
type simulation struct {
	policy    *policy.Policy
	book      *history.Book
	open      map[string]*caseRecord // by author key
	pending   []*caseRecord          // open cases whose chain has steps left
	cases     []*caseRecord
	decisions []decisionRecord
}

// simulate replays in through p. progress, if not nil, is called with the
// number of mentions done.
func simulate(p *policy.Policy, in *replayInput, progress func(done int)) *simulation {
	s := &simulation{policy: p, book: history.NewBook(p.Window()), open: map[string]*caseRecord{}}
	for i, m := range in.mentions {
		at := m.GetCreatedAt().AsTime()
		s.advance(at)
		if m.GetBrandReply() {
			s.reply(m, at)
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

// authorKey matches the escalation service's: brand, platform, author.
func authorKey(brand string, p fbv1.Platform, authorID string) string {
	return brand + "/" + strings.ToLower(strings.TrimPrefix(p.String(), "PLATFORM_")) + "/" + authorID
}

func (s *simulation) reply(m *fbv1.Mention, at time.Time) {
	if m.GetReplyToAuthorId() == "" {
		return
	}
	key := authorKey(m.GetBrand(), m.GetPlatform(), m.GetReplyToAuthorId())
	s.book.BrandReply(key, at)
	if c, ok := s.open[key]; ok {
		c.AnsweredAt = &at
		c.status.State = chain.Resolved
		delete(s.open, key)
	}
}

func (s *simulation) decide(m *fbv1.Mention, sc *fbv1.Score, reach *fbv1.Reach, at time.Time) {
	key := authorKey(m.GetBrand(), m.GetPlatform(), m.GetAuthor().GetId())
	complaint := s.policy.Complaint(sc)
	var hist *fbv1.History
	if complaint {
		hist = s.book.Complaint(key, m.GetId(), at)
	} else {
		hist = s.book.At(key, at)
	}
	out := s.policy.Evaluate(policy.Input{Mention: m, Score: sc, Reach: reach, History: hist})
	d := decisionRecord{
		MentionID: m.GetId(), At: at, Brand: m.GetBrand(), Author: m.GetAuthor().GetId(),
		Complaint: complaint, Escalate: out.Escalate, Route: out.Route, Reasons: reasonsJSON(out.Reasons),
		Complaints: hist.GetComplaintsInWindow(), Streak: hist.GetUnansweredStreak(), Tier: tierName(reach),
		priority: out.Priority,
	}
	if out.Escalate {
		d.Team, d.Priority = out.Team, priorityName(out.Priority)
		d.CaseID = s.escalate(key, m, out, at).ID
	}
	s.decisions = append(s.decisions, d)
}

// escalate opens a case for the author or adds to the open one. A higher
// priority takes the case to its team and restarts its chain from the first
// level, as a new page to new people.
func (s *simulation) escalate(key string, m *fbv1.Mention, out policy.Outcome, at time.Time) *caseRecord {
	c, ok := s.open[key]
	if !ok {
		c = &caseRecord{
			ID: caseID(len(s.cases) + 1), Brand: m.GetBrand(), Author: m.GetAuthor().GetId(), OpenedAt: at, key: key,
		}
		s.open[key] = c
		s.cases = append(s.cases, c)
	}
	c.MentionIDs = append(c.MentionIDs, m.GetId())
	c.status.ComplainedAt = at
	if ok && out.Priority <= c.priority {
		return c
	}
	c.priority, c.Priority, c.Team, c.Route, c.Reasons = out.Priority, priorityName(out.Priority), out.Team, out.Route, reasonsJSON(out.Reasons)
	if c.Chain != out.Chain || !ok {
		c.Chain = out.Chain
		c.chain, _ = s.policy.Chain(out.Chain)
		c.status = chain.Status{State: chain.Open, FiredAt: at, ComplainedAt: at}
		if !slices.Contains(s.pending, c) {
			s.pending = append(s.pending, c)
		}
	}
	s.fire(c, at)
	return c
}

// advance fires every chain step due by now.
func (s *simulation) advance(now time.Time) {
	kept := s.pending[:0]
	for _, c := range s.pending {
		if s.fire(c, now) {
			kept = append(kept, c)
		}
	}
	clear(s.pending[len(kept):])
	s.pending = kept
}

// fire pages c's due levels and reports whether its chain has steps left.
func (s *simulation) fire(c *caseRecord, now time.Time) bool {
	for {
		step, ok := c.chain.Next(c.status)
		if !ok {
			return false
		}
		if step.At.After(now) {
			return true
		}
		c.Pages = append(c.Pages, pageRecord{Level: step.Level, Round: step.Round, At: step.At, Receivers: step.Receivers, Cause: step.Cause.String()})
		c.Level = max(c.Level, step.Level)
		c.status.Level, c.status.Round, c.status.FiredAt = step.Level, step.Round, step.At
	}
}

func caseID(n int) string { return "case-" + strconv.Itoa(n) }

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
