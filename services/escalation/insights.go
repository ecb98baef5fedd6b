package escalation

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/insights"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/policy"
)

// tallyDecision counts a decision for the insights in its commit.
func (s *Service) tallyDecision(d *fbv1.Decision) ledger.Also {
	comparison := ""
	if d.Shadow != nil {
		comparison = compare(d, d.Shadow)
	}
	return func(ctx context.Context, pipe redis.Pipeliner) { s.tally.Decision(ctx, pipe, d, comparison) }
}

// tallyAnswer records the time to first answer of a case the reply
// answered first, in the reply's commit.
func (s *Service) tallyAnswer(c *fbv1.Case, r cases.Reply) ledger.Also {
	return func(ctx context.Context, pipe redis.Pipeliner) {
		if c == nil || !r.Answered || c.AnsweredBy != r.Mention.GetId() || c.OpenedAt == nil {
			return
		}
		s.tally.Answer(ctx, pipe, c, r.Mention.CreatedAt.AsTime())
	}
}

// GetInsights counts recent mentions, complaints, escalations by reach
// tier and times to first answer against the running policy's targets.
func (s *Service) GetInsights(ctx context.Context, req *fbv1.GetInsightsRequest) (*fbv1.GetInsightsResponse, error) {
	p, err := insights.Days(s.clock.Now(), int(req.Days))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	out, err := s.tally.Read(ctx, s.d.Redis, p, s.policy.Load().RespondWithin)
	if err != nil {
		return nil, toStatus(err)
	}
	return out, nil
}

// shadowDays is how far back the shadow policy's comparisons are counted.
const shadowDays = 7

// GetPolicyStatus describes the running policies as this replica has them.
func (s *Service) GetPolicyStatus(ctx context.Context, _ *fbv1.GetPolicyStatusRequest) (*fbv1.GetPolicyStatusResponse, error) {
	out := &fbv1.GetPolicyStatusResponse{Live: s.liveState.describe(s.policy.Load())}
	shadow := s.shadow.Load()
	if shadow == nil {
		return out, nil
	}
	out.Shadow = s.shadowState.describe(shadow)
	p, _ := insights.Days(s.clock.Now(), shadowDays)
	labels := make([]string, 0, len(shadowLabels))
	for _, c := range []policy.Change{policy.Same, policy.OnlySecond, policy.OnlyFirst, policy.Raised, policy.Lowered, policy.OtherTeam} {
		labels = append(labels, shadowLabels[c])
	}
	counts, err := s.tally.ShadowComparisons(ctx, s.d.Redis, shadow.Version(), labels, p)
	if err != nil {
		return nil, toStatus(err)
	}
	out.ShadowComparisons = counts
	return out, nil
}

// policyState is what a replica knows of one policy file's reloads.
type policyState struct {
	mu        sync.Mutex
	file      string
	loadedAt  time.Time
	checkedAt time.Time
	refused   string
	refusedAt time.Time
}

func (p *policyState) loaded(file string, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.file, p.loadedAt, p.checkedAt, p.refused, p.refusedAt = file, at, at, "", time.Time{}
}

func (p *policyState) checked(at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checkedAt = at
}

func (p *policyState) refuse(why string, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refused, p.refusedAt, p.checkedAt = why, at, at
}

// maxSourceBytes bounds the policy text sent with the status.
const maxSourceBytes = 256 << 10

func (p *policyState) describe(pol *policy.Policy) *fbv1.PolicyStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	src := pol.Source()
	if len(src) > maxSourceBytes {
		src = src[:maxSourceBytes]
	}
	out := &fbv1.PolicyStatus{Version: pol.Version(), File: p.file, Refused: p.refused, Source: string(src)}
	for _, t := range []struct {
		at  time.Time
		set func(*timestamppb.Timestamp)
	}{
		{p.loadedAt, func(ts *timestamppb.Timestamp) { out.LoadedAt = ts }},
		{p.checkedAt, func(ts *timestamppb.Timestamp) { out.CheckedAt = ts }},
		{p.refusedAt, func(ts *timestamppb.Timestamp) { out.RefusedAt = ts }},
	} {
		if !t.at.IsZero() {
			t.set(timestamppb.New(t.at))
		}
	}
	return out
}
