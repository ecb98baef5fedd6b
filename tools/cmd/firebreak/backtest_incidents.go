package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/surge"
)

// incidentRecord is an incident as the service would have opened it: one
// case for a surge, paging its team once.
type incidentRecord struct {
	ID         string     `json:"id"`
	Brand      string     `json:"brand"`
	Scope      string     `json:"scope"`
	Topic      string     `json:"topic,omitempty"`
	PostID     string     `json:"post_id,omitempty"`
	OpenedAt   time.Time  `json:"opened_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	Team       string     `json:"team"`
	Severity   string     `json:"severity"`
	Reason     string     `json:"reason"`
	// Members are the complaints that joined while it was open; Authors
	// and Reach their distinct authors and those authors' followers.
	Members        int    `json:"members"`
	Authors        int    `json:"authors"`
	Reach          int64  `json:"reach"`
	FirstMentionID string `json:"first_mention_id,omitempty"`
	// Quiet counts the members whose decisions paged nobody.
	Quiet int `json:"quiet"`

	authors map[string]bool
}

// surges is a replay's surge detection: per brand, the counts and state
// the service keeps in Redis.
type surges struct {
	cfg       policy.Surges
	on        bool
	counters  map[string]*surge.Counter
	states    map[string]surge.State
	incidents []*incidentRecord
	byID      map[string]*incidentRecord
}

func newSurges(p *policy.Policy) *surges {
	cfg, on := p.Surges()
	return &surges{cfg: cfg, on: on, counters: map[string]*surge.Counter{}, states: map[string]surge.State{}, byID: map[string]*incidentRecord{}}
}

// complaint counts a complaint and returns what the policy sees of the
// open incident it belongs to.
func (s *surges) complaint(m *fbv1.Mention, sc *fbv1.Score, authorKey string, at time.Time) *policy.SurgeFacts {
	if !s.on {
		return nil
	}
	scopes := surge.ScopesOf(sc.GetTopics(), surge.Target(m))
	obs := s.step(m.GetBrand(), authorKey, at, scopes)
	group, inc, ok := s.states[m.GetBrand()].Active(scopes)
	if !ok {
		return nil
	}
	count, counted := obs.Counts[inc.Scope]
	if !counted {
		count = inc.Peak
	}
	topic, post := surge.Parts(inc.Scope)
	return &policy.SurgeFacts{Active: true, Authors: int64(count), Topic: topic, Post: post,
		Incident: cases.ID(ledger.IncidentTag(m.GetBrand(), group), inc.Seq), Reason: surge.Reason(inc.Scope, inc.Peak, inc.Mean, inc.SD, s.cfg.Detect)}
}

// look is the service's timer looking at brands with open incidents.
func (s *surges) look(now time.Time) {
	if !s.on {
		return
	}
	for _, brand := range slices.Sorted(mapsKeys(s.states)) {
		st := s.states[brand]
		var scopes []surge.Scope
		for _, g := range st.OpenGroups() {
			scopes = append(scopes, st.ScopesOfGroup(g)...)
		}
		if len(scopes) > 0 {
			s.step(brand, "", now, scopes)
		}
	}
}

func (s *surges) step(brand, author string, at time.Time, scopes []surge.Scope) surge.Observation {
	c := s.counters[brand]
	if c == nil {
		c = &surge.Counter{}
		s.counters[brand] = c
	}
	obs := c.Observe(author, at, scopes, s.cfg.Detect)
	next, changes := surge.Step(s.states[brand], obs, s.cfg.Detect)
	s.states[brand] = next
	for _, ch := range changes {
		id := cases.ID(ledger.IncidentTag(brand, ch.Group), ch.Incident.Seq)
		if !ch.Opened {
			if r := s.byID[id]; r != nil {
				at := at
				r.ResolvedAt = &at
			}
			continue
		}
		inc := ch.Incident
		topic, post := surge.Parts(inc.Scope)
		r := &incidentRecord{ID: id, Brand: brand, Scope: inc.Scope, Topic: topic, PostID: post, OpenedAt: at, Team: s.cfg.Team,
			Severity: priorityName(max(s.cfg.Priority, surge.Severity(inc.Peak, inc.Mean, inc.SD, s.cfg.Detect))),
			Reason:   surge.Reason(inc.Scope, inc.Peak, inc.Mean, inc.SD, s.cfg.Detect), authors: map[string]bool{}}
		s.incidents = append(s.incidents, r)
		s.byID[id] = r
	}
	return obs
}

// holdEnd is surge.HoldEnd with the incident's case id.
type holdEnd struct {
	surge.HoldEnd
	id string
}

// endHold looks at a held case's scopes when its hold ends, as the
// service's timer does, and says what becomes of it, with the incident's
// reason when it joins one.
func (s *surges) endHold(c *fbv1.Case, at time.Time) (holdEnd, string) {
	if !s.on {
		return holdEnd{}, ""
	}
	scopes := surge.ScopesOf(c.GetTopics(), c.GetHeldPostId())
	obs := s.step(c.GetBrand(), "", at, scopes)
	end := holdEnd{HoldEnd: s.states[c.GetBrand()].EndHold(obs, scopes, c.GetHoldWaits() < cases.MaxHoldWaits, s.cfg.Detect)}
	if !end.Join {
		return end, ""
	}
	inc := end.Incident
	end.id = cases.ID(ledger.IncidentTag(c.GetBrand(), end.Group), inc.Seq)
	return end, surge.Reason(inc.Scope, inc.Peak, inc.Mean, inc.SD, s.cfg.Detect)
}

// joinedHeld records a held case that joined an incident at its hold's
// end, as the service does.
func (s *surges) joinedHeld(id, authorKey string, c *fbv1.Case) {
	r := s.byID[id]
	if r == nil {
		return
	}
	r.Members++
	r.Quiet++
	if !r.authors[authorKey] {
		r.authors[authorKey] = true
		r.Authors++
		followers := c.GetReach().GetFollowers()
		if followers == 0 {
			followers = c.GetAuthor().GetFollowers()
		}
		r.Reach += followers
	}
}

// joined records a decided complaint in its incident.
func (s *surges) joined(d *fbv1.Decision, m *fbv1.Mention, reach *fbv1.Reach) {
	r := s.byID[d.GetSurge().GetIncidentId()]
	if r == nil {
		return
	}
	r.Members++
	if d.Quiet {
		r.Quiet++
	}
	if r.FirstMentionID == "" {
		r.FirstMentionID = m.GetId()
	}
	if !r.authors[d.AuthorKey] {
		r.authors[d.AuthorKey] = true
		r.Authors++
		followers := reach.GetFollowers()
		if followers == 0 {
			followers = m.GetAuthor().GetFollowers()
		}
		r.Reach += followers
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func writeIncidents(w io.Writer, incidents []*incidentRecord) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INCIDENT\tOPENED\tRESOLVED\tBRAND\tTEAM\tSEVERITY\tAUTHORS\tQUIET\tWHY")
	for _, inc := range incidents {
		resolved := "open at end of data"
		if inc.ResolvedAt != nil {
			resolved = inc.ResolvedAt.Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", inc.ID, inc.OpenedAt.Format("2006-01-02 15:04"), resolved, inc.Brand,
			inc.Team, inc.Severity, inc.Authors, inc.Quiet, inc.Reason)
	}
	tw.Flush()
}
