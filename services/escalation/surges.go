package escalation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/silence"
	"github.com/firebreak/firebreak/services/escalation/surge"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
)

// defaultSurgeLook is how often brands with open incidents are looked at
// when the configuration leaves it out.
const defaultSurgeLook = 15 * time.Second

// incidentActor is who an incident's own changes are made by.
const incidentActor = "firebreak"

// surgeOf counts a complaint towards its brand's surges, opens the
// incident a surge makes, and returns what the policy sees of the open
// incident the complaint belongs to (nil: none, or no surges section).
// judged is the policy's judgement of score. early, when it counted the same complaint in the join's round trip, is
// used instead of counting again.
func (s *Service) surgeOf(ctx context.Context, pol *policy.Policy, authorKey string, m *fbv1.Mention, score *fbv1.Score, judged policy.Judged, early *counted) (*policy.SurgeFacts, error) {
	cfg, ok := pol.Surges()
	if !ok || m.GetBrandReply() || !pol.ComplaintOf(score, judged) {
		return nil, nil
	}
	scopes := surge.ScopesOf(score.GetTopics(), surge.Target(m))
	at := m.CreatedAt.AsTime()
	var first func() (ledger.Observed, error)
	if early.counts(m.Brand, authorKey, at, scopes) {
		first = early.read
	}
	st, obs, err := s.stepSurges(ctx, cfg, m.Brand, authorKey, at, scopes, m, first)
	if err != nil {
		return nil, err
	}
	group, inc, active := st.Active(scopes)
	if !active {
		return nil, nil
	}
	count, ok := obs.Counts[inc.Scope]
	if !ok {
		count = inc.Peak
	}
	topic, post := surge.Parts(inc.Scope)
	return &policy.SurgeFacts{Active: true, Authors: int64(count), Topic: topic, Post: post,
		Incident: incidentID(m.Brand, group, inc), Reason: surge.Reason(inc.Scope, inc.Peak, inc.Mean, inc.SD, cfg.Detect)}, nil
}

// counted is a complaint's surge count made in its score's join round
// trip (see countIn), so that deciding it costs no round trip of its own.
type counted struct {
	brand, author string
	at            time.Time
	scopes        []surge.Scope
	read          func() (ledger.Observed, error)
}

// counts says whether c counted this complaint (and ran).
func (c *counted) counts(brand, author string, at time.Time, scopes []surge.Scope) bool {
	return c != nil && c.read != nil && c.brand == brand && c.author == author && c.at.Equal(at) && slices.Equal(c.scopes, scopes)
}

// countIn returns the join side that counts a scored complaint towards its
// brand's surges in the join's round trip, and what it counted; none for a
// score that is no complaint, or with no surges section. judged is the
// policy's judgement of sm.Score when it was decoded, if any. Counting is
// idempotent (an author's latest complaint per scope), so a complaint
// counted when its score comes first and again when it is decided counts
// once.
func (s *Service) countIn(pol *policy.Policy, authorKey string, sm *fbv1.ScoredMention, judged policy.Judged) ([]ledger.Side, *counted) {
	cfg, ok := pol.Surges()
	if sm == nil || !ok || sm.GetMention().GetBrandReply() || !pol.ComplaintOf(sm.Score, judged) {
		return nil, nil
	}
	m := sm.Mention
	c := &counted{brand: m.Brand, author: authorKey, at: m.CreatedAt.AsTime(), scopes: surge.ScopesOf(sm.Score.GetTopics(), surge.Target(m))}
	side := func(ctx context.Context, pipe redis.Pipeliner) []redis.Cmder {
		cmd, read := s.surges.ObserveIn(ctx, pipe, c.brand, c.author, c.at, c.scopes, cfg.Detect)
		c.read = read
		return []redis.Cmder{cmd}
	}
	return []ledger.Side{side}, c
}

// stepSurges observes (author "" only looks), steps and stores a brand's
// surge state, retrying when another replica stored it first, then opens
// and resolves the incidents the step says. trigger, when not nil, is the
// mention that made the step. first, when not nil, is an observation made
// already (countIn); if it failed, stepSurges observes on its own.
func (s *Service) stepSurges(ctx context.Context, cfg policy.Surges, brand, author string, at time.Time, scopes []surge.Scope, trigger *fbv1.Mention, first func() (ledger.Observed, error)) (surge.State, surge.Observation, error) {
	for range maxConflicts * 4 {
		var o ledger.Observed
		var err error
		if first != nil {
			o, err = first()
			first = nil
		}
		if o.Obs.Counts == nil {
			o, err = s.surges.Observe(ctx, brand, author, at, scopes, cfg.Detect)
		}
		if err != nil {
			return surge.State{}, surge.Observation{}, err
		}
		next, changes := surge.Step(o.State, o.Obs, cfg.Detect)
		if !o.Changed(next) {
			return next, o.Obs, nil
		}
		if len(changes) > 0 {
			// Before the state, so that the timers look at the brand even
			// if this replica dies before opening the incident's case.
			if err := s.surges.MarkOpen(ctx, brand); err != nil {
				return surge.State{}, surge.Observation{}, err
			}
		}
		err = s.surges.Store(ctx, brand, o, next)
		if errors.Is(err, ledger.ErrConflict) {
			continue
		}
		if err != nil {
			return surge.State{}, surge.Observation{}, err
		}
		for _, c := range changes {
			if c.Opened {
				err = s.openIncident(ctx, cfg, brand, c.Group, c.Incident, trigger)
			} else {
				err = s.resolveIncident(ctx, brand, c.Group, c.Incident, cfg.Detect)
			}
			if err != nil {
				return surge.State{}, surge.Observation{}, err
			}
		}
		return next, o.Obs, nil
	}
	return surge.State{}, surge.Observation{}, fmt.Errorf("surge state of brand %s kept changing; will retry", brand)
}

func incidentID(brand, group string, inc surge.Incident) string {
	return cases.ID(ledger.IncidentTag(brand, group), inc.Seq)
}

// openIncident stores the incident's case and pages its team once. It is
// safe to call again: a case stored before is left as it is.
func (s *Service) openIncident(ctx context.Context, cfg policy.Surges, brand, group string, inc surge.Incident, trigger *fbv1.Mention) error {
	pol := s.policy.Load()
	now := s.clock.Now()
	id := incidentID(brand, group, inc)
	reason := surge.Reason(inc.Scope, inc.Peak, inc.Mean, inc.SD, cfg.Detect)
	severity := surge.Severity(inc.Peak, inc.Mean, inc.SD, cfg.Detect)
	topic, post := surge.Parts(inc.Scope)
	reasons := []*fbv1.Reason{{Code: "surge", Text: reason}}
	c := &fbv1.Case{
		Id: id, Brand: brand, Kind: fbv1.CaseKind_CASE_KIND_INCIDENT, AuthorKey: brand + "/incident/" + group,
		// Pages and queues name a case by its author: an incident's is
		// "incident".
		Author: &fbv1.Author{Id: "incident"}, State: fbv1.CaseState_CASE_STATE_OPEN, Priority: max(cfg.Priority, severity),
		Team: cfg.Team, Chain: cfg.Chain, Level: 1, Reasons: reasons, Route: "surge",
		OpenedAt: timestamppb.New(now), UpdatedAt: timestamppb.New(now), LevelFiredAt: timestamppb.New(now),
		Incident: &fbv1.Incident{Scope: inc.Scope, Topic: topic, PostId: post, Peak: int64(inc.Peak),
			BaselineMean: inc.Mean, BaselineSd: inc.SD, Severity: severity, Reason: reason},
	}
	if topic != "" {
		c.Topics = []string{topic}
	}
	if trigger != nil {
		c.Platform = trigger.Platform
	}
	e := &fbv1.CaseEvent{Id: id + ":opened", Type: fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, Case: c,
		Reasons: reasons, Level: 1, At: timestamppb.New(now)}
	if ch, ok := pol.Chain(c.Chain); ok && len(ch.Levels) > 0 {
		e.Receivers = ch.Levels[0].Receivers
	}
	set, err := s.currentSilences(ctx)
	if err != nil {
		return err
	}
	silence.MuteCase(set, c, []*fbv1.CaseEvent{e}, now)
	created, err := s.store.CreateIncident(ctx, c, e, s.nextLook(pol, c))
	if err != nil || !created {
		return err
	}
	s.d.Tel.Logger.InfoContext(ctx, "incident opened", "incident", id, "brand", brand, "reason", reason)
	s.countIncident(ctx, "opened", brand, group)
	return s.publishSaved(ctx, id, e)
}

// resolveIncident resolves an incident's case when its surge is over.
func (s *Service) resolveIncident(ctx context.Context, brand, group string, inc surge.Incident, cfg surge.Config) error {
	id := incidentID(brand, group, inc)
	note := fmt.Sprintf("back to the usual rate for %s", policy.Span(cfg.Quiet))
	for range maxConflicts {
		l, err := s.store.Case(ctx, id)
		if errors.Is(err, cases.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.store.FillIncident(ctx, l.Case); err != nil {
			return err
		}
		c, e, err := cases.Resolve(l.Case, incidentActor, note, s.clock.Now())
		if errors.Is(err, cases.ErrState) {
			return nil // resolved by hand before
		}
		if err != nil {
			return err
		}
		err = s.store.Save(ctx, l, c, e, time.Time{})
		if errors.Is(err, ledger.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		s.d.Tel.Logger.InfoContext(ctx, "incident resolved", "incident", id, "brand", brand)
		s.countIncident(ctx, "resolved", brand, group)
		return s.publishSaved(ctx, id, e)
	}
	return fmt.Errorf("resolve incident %s: it kept changing; will retry", id)
}

func (s *Service) countIncident(ctx context.Context, event, brand, group string) {
	kind := "outage"
	if group != "outage" {
		kind = "pile-on"
	}
	s.incidents.Add(ctx, 1, metric.WithAttributes(attribute.String("event", event), attribute.String("brand", brand), attribute.String("kind", kind)))
}

// endIncident ends the surge of an incident resolved by hand: complaints
// stop joining it (and page as the policy says without it), and its scope
// cools down before it can open another.
func (s *Service) endIncident(ctx context.Context, c *fbv1.Case) {
	cfg, ok := s.policy.Load().Surges()
	_, group, found := strings.Cut(c.AuthorKey, "/incident/")
	_, seq, err := cases.ParseID(c.Id)
	if !ok || !found || err != nil {
		return
	}
	for range maxConflicts {
		o, err := s.surges.Observe(ctx, c.Brand, "", s.clock.Now(), nil, cfg.Detect)
		if err != nil {
			s.d.Tel.Logger.WarnContext(ctx, "incident resolved, but its surge could not be ended; it ends when the rate is back to the usual", "incident", c.Id, "err", err)
			return
		}
		next, open := o.State.Close(group, seq, s.clock.Now(), cfg.Detect)
		if !open {
			return
		}
		if err := s.surges.Store(ctx, c.Brand, o, next); !errors.Is(err, ledger.ErrConflict) {
			if err == nil {
				s.countIncident(ctx, "resolved", c.Brand, group)
			}
			return
		}
	}
}

// joinIncident records a decided complaint in the incident it belongs to.
func (s *Service) joinIncident(ctx context.Context, d *fbv1.Decision, m *fbv1.Mention) {
	if !d.GetSurge().GetActive() {
		return
	}
	followers := d.GetReach().GetFollowers()
	if followers == 0 {
		followers = m.GetAuthor().GetFollowers()
	}
	if err := s.store.JoinIncident(ctx, d.Surge.IncidentId, d.AuthorKey, followers, d.CaseId, m); err != nil {
		// The decision stands; the incident's counts miss one complaint.
		s.d.Tel.Logger.WarnContext(ctx, "complaint not counted in its incident", "incident", d.Surge.IncidentId, "mention", m.GetId(), "err", err)
	}
}

// incidentLooks looks at brands with open incidents, so an incident
// resolves when complaints stop coming, and a replica that died between
// opening an incident and storing its case is made up for.
func (s *Service) incidentLooks(every time.Duration) *lifecycle.Every {
	return &lifecycle.Every{Interval: every, Do: func(ctx context.Context) {
		if err := s.lookIncidents(ctx); err != nil {
			s.d.Tel.Logger.Warn("looking at open incidents failed; retrying", "err", err)
		}
	}}
}

func (s *Service) lookIncidents(ctx context.Context) error {
	cfg, ok := s.policy.Load().Surges()
	if !ok {
		return nil
	}
	brands, err := s.surges.OpenBrands(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, brand := range brands {
		errs = append(errs, s.lookBrand(ctx, cfg, brand))
	}
	return errors.Join(errs...)
}

func (s *Service) lookBrand(ctx context.Context, cfg policy.Surges, brand string) error {
	o, err := s.surges.Observe(ctx, brand, "", s.clock.Now(), nil, cfg.Detect)
	if err != nil {
		return err
	}
	var scopes []surge.Scope
	for _, g := range o.State.OpenGroups() {
		scopes = append(scopes, o.State.ScopesOfGroup(g)...)
	}
	if len(scopes) == 0 {
		if err := s.surges.MarkClosed(ctx, brand); err != nil {
			return err
		}
		// An incident may have opened meanwhile: look again.
		again, err := s.surges.Observe(ctx, brand, "", s.clock.Now(), nil, cfg.Detect)
		if err != nil || len(again.State.OpenGroups()) == 0 {
			return err
		}
		return s.surges.MarkOpen(ctx, brand)
	}
	st, _, err := s.stepSurges(ctx, cfg, brand, "", s.clock.Now(), scopes, nil, nil)
	if err != nil {
		return err
	}
	for _, g := range st.OpenGroups() {
		if err := s.openIncident(ctx, cfg, brand, g, *st.Groups[g].Open, nil); err != nil {
			return err
		}
	}
	return nil
}

// fillIncidents sets incident cases' members and counts.
func (s *Service) fillIncidents(ctx context.Context, list ...*fbv1.Case) error {
	for _, c := range list {
		if err := s.store.FillIncident(ctx, c); err != nil {
			return err
		}
	}
	return nil
}
