package escalation

import (
	"context"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/surge"
)

// endHold looks at a case whose hold just ended (see cases.Held): if an
// incident covering its brand, topic or post is open, the case joins it
// quietly; if a surge is rising in its scope, the hold is made longer
// (cases.MaxHoldWaits times at most). It returns a nil event when neither: the chain's first level
// pages. joins says the case joined an incident.
func (s *Service) endHold(ctx context.Context, pol *policy.Policy, c *fbv1.Case) (_ *fbv1.Case, _ *fbv1.CaseEvent, joins bool, _ error) {
	cfg, ok := pol.Surges()
	if !ok {
		return nil, nil, false, nil
	}
	now := s.clock.Now()
	scopes := surge.ScopesOf(c.Topics, c.HeldPostId)
	// A look, as the incident timer's: it learns finished windows and
	// resolves an incident whose surge is over, so both agree.
	st, obs, err := s.stepSurges(ctx, cfg, c.Brand, "", now, scopes, nil, nil)
	if err != nil {
		return nil, nil, false, err
	}
	switch end := st.EndHold(obs, scopes, c.HoldWaits < cases.MaxHoldWaits, cfg.Detect); {
	case end.Join:
		held, e := cases.JoinHeld(c, incidentID(c.Brand, end.Group, end.Incident), surge.Reason(end.Incident.Scope, end.Incident.Peak, end.Incident.Mean, end.Incident.SD, cfg.Detect), now)
		return held, e, true, nil
	case end.Wait > 0:
		held, e := cases.ExtendHold(c, end.Wait, now)
		return held, e, false, nil
	}
	return nil, nil, false, nil
}

// joinedHeld counts a case that joined an incident at its hold's end in
// the incident's members, authors and reach.
func (s *Service) joinedHeld(ctx context.Context, c *fbv1.Case) {
	// The incident counts mentions: the case's latest stands for it.
	m := &fbv1.Mention{Id: c.Id, CreatedAt: c.LastComplaintAt, Author: c.Author}
	if n := len(c.MentionIds); n > 0 {
		m.Id = c.MentionIds[n-1]
	}
	if m.CreatedAt == nil {
		m.CreatedAt = c.UpdatedAt
	}
	followers := c.GetReach().GetFollowers()
	if followers == 0 {
		followers = c.GetAuthor().GetFollowers()
	}
	if err := s.store.JoinIncident(ctx, c.IncidentId, c.AuthorKey, followers, c.Id, m); err != nil {
		// The case joined; the incident's counts miss it.
		s.d.Tel.Logger.WarnContext(ctx, "held case not counted in its incident", "incident", c.IncidentId, "case", c.Id, "err", err)
	}
}
