package escalation

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/platform/auth"
)

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// ListCases lists cases, most recently updated first.
func (s *Service) ListCases(ctx context.Context, req *fbv1.ListCasesRequest) (*fbv1.ListCasesResponse, error) {
	size := int(req.PageSize)
	switch {
	case size < 0:
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	case size == 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}
	f := ledger.Filter{State: req.State, Team: req.Team, Priority: req.Priority, Brand: req.Brand, Assignee: req.Assignee, Kind: req.Kind}
	list, next, err := s.store.List(ctx, f, req.PageToken, size)
	if errors.Is(err, ledger.ErrBadCursor) {
		return nil, status.Error(codes.InvalidArgument, "page_token is not one this server returned; start without it")
	}
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.fillIncidents(ctx, list...); err != nil {
		return nil, toStatus(err)
	}
	return &fbv1.ListCasesResponse{Cases: list, NextPageToken: next}, nil
}

// GetCase returns a case with its timeline.
func (s *Service) GetCase(ctx context.Context, req *fbv1.GetCaseRequest) (*fbv1.GetCaseResponse, error) {
	l, err := s.store.Case(ctx, req.Id)
	if err != nil {
		return nil, toStatus(err)
	}
	timeline, err := s.store.Timeline(ctx, req.Id)
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.fillIncidents(ctx, l.Case); err != nil {
		return nil, toStatus(err)
	}
	return &fbv1.GetCaseResponse{Case: l.Case, Timeline: timeline}, nil
}

// AcknowledgeCase records that the caller has taken the case.
func (s *Service) AcknowledgeCase(ctx context.Context, req *fbv1.AcknowledgeCaseRequest) (*fbv1.AcknowledgeCaseResponse, error) {
	c, err := s.change(ctx, &fbv1.CaseCommand{CaseId: req.Id, Note: req.Note, Action: fbv1.CaseCommandAction_CASE_COMMAND_ACTION_ACKNOWLEDGE})
	if err != nil {
		return nil, err
	}
	return &fbv1.AcknowledgeCaseResponse{Case: c}, nil
}

// ResolveCase closes the case in the caller's name.
func (s *Service) ResolveCase(ctx context.Context, req *fbv1.ResolveCaseRequest) (*fbv1.ResolveCaseResponse, error) {
	c, err := s.change(ctx, &fbv1.CaseCommand{CaseId: req.Id, Note: req.Note, Action: fbv1.CaseCommandAction_CASE_COMMAND_ACTION_RESOLVE})
	if err != nil {
		return nil, err
	}
	return &fbv1.ResolveCaseResponse{Case: c}, nil
}

// AssignCase gives the case to the named person, or to the caller.
func (s *Service) AssignCase(ctx context.Context, req *fbv1.AssignCaseRequest) (*fbv1.AssignCaseResponse, error) {
	assignee := req.Assignee
	if assignee == "" {
		caller, _ := auth.FromContext(ctx)
		assignee = caller.Name
	}
	c, err := s.change(ctx, &fbv1.CaseCommand{CaseId: req.Id, Note: req.Note, Action: fbv1.CaseCommandAction_CASE_COMMAND_ACTION_ASSIGN, Assignee: assignee})
	if err != nil {
		return nil, err
	}
	return &fbv1.AssignCaseResponse{Case: c}, nil
}

// ReopenCase opens a resolved case again; its chain starts over.
func (s *Service) ReopenCase(ctx context.Context, req *fbv1.ReopenCaseRequest) (*fbv1.ReopenCaseResponse, error) {
	c, err := s.change(ctx, &fbv1.CaseCommand{CaseId: req.Id, Note: req.Note, Action: fbv1.CaseCommandAction_CASE_COMMAND_ACTION_REOPEN})
	if err != nil {
		return nil, err
	}
	return &fbv1.ReopenCaseResponse{Case: c}, nil
}

// SnoozeCase pauses the case's chain for the given time.
func (s *Service) SnoozeCase(ctx context.Context, req *fbv1.SnoozeCaseRequest) (*fbv1.SnoozeCaseResponse, error) {
	c, err := s.change(ctx, &fbv1.CaseCommand{CaseId: req.Id, Note: req.Note, Action: fbv1.CaseCommandAction_CASE_COMMAND_ACTION_SNOOZE, SnoozeSeconds: req.Seconds})
	if err != nil {
		return nil, err
	}
	return &fbv1.SnoozeCaseResponse{Case: c}, nil
}

// UnsnoozeCase resumes the case's chain before its snooze ends.
func (s *Service) UnsnoozeCase(ctx context.Context, req *fbv1.UnsnoozeCaseRequest) (*fbv1.UnsnoozeCaseResponse, error) {
	c, err := s.change(ctx, &fbv1.CaseCommand{CaseId: req.Id, Note: req.Note, Action: fbv1.CaseCommandAction_CASE_COMMAND_ACTION_UNSNOOZE})
	if err != nil {
		return nil, err
	}
	return &fbv1.UnsnoozeCaseResponse{Case: c}, nil
}

type transition func(c *fbv1.Case, actor, note string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, error)

// maxNoteLength bounds a note on a case's timeline.
const maxNoteLength = 2000

// maxPolicyBytes bounds a policy sent to EvaluatePolicy, before it is
// parsed; each expression in it is bounded by policy.MaxCost when it runs.
const maxPolicyBytes = 256 << 10

// change applies a person's command to a case for the gRPC API. The actor
// is whoever authenticated; the requests' actor field is ignored, so
// nobody can act in another's name.
func (s *Service) change(ctx context.Context, cmd *fbv1.CaseCommand) (*fbv1.Case, error) {
	caller, ok := auth.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no authenticated caller; "+auth.HowToAuthenticate)
	}
	if n := utf8.RuneCountInString(cmd.Note); n > maxNoteLength {
		return nil, status.Errorf(codes.InvalidArgument, "note is %d characters; at most %d are kept, so shorten it", n, maxNoteLength)
	}
	cmd.At = timestamppb.New(s.clock.Now())
	c, err := s.command(ctx, cmd, actor{name: caller.Name, method: caller.Method})
	if errors.Is(err, ledger.ErrConflict) {
		return nil, status.Errorf(codes.Aborted, "case %s kept changing; try again", cmd.CaseId)
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return c, nil
}

// actor is who changed a case and how they proved it: an authenticated
// caller (api-key, oidc) or a signed callback (slack, pagerduty), with
// their identity in that tool (via) when it maps to a Firebreak user.
type actor struct{ name, method, via string }

// apply changes a case, retrying if a decision changed it at the same
// moment, and publishes the change. A command id, when not empty, is
// applied once: the second time the case is returned as it is.
func (s *Service) apply(ctx context.Context, id string, by actor, note, commandID string, t transition) (*fbv1.Case, error) {
	for range maxConflicts {
		l, err := s.store.Case(ctx, id)
		if err != nil {
			return nil, err
		}
		c, e, err := t(l.Case, by.name, note, s.clock.Now())
		if err != nil {
			return nil, err
		}
		e.AuthMethod, e.Via = by.method, by.via
		if commandID != "" {
			// Named by its command: a redelivered command makes the same
			// event, and two commands in one instant make two.
			e.Id = c.Id + ":" + cases.EventName(e.Type) + ":" + commandID
		}
		err = s.store.SaveCommand(ctx, l, c, e, s.nextLook(s.policy.Load(), c), commandID)
		switch {
		case errors.Is(err, ledger.ErrConflict):
			continue
		case errors.Is(err, ledger.ErrAlready):
			return l.Case, nil
		case errors.Is(err, ledger.ErrSuperseded):
			return nil, fmt.Errorf("%w: case %s is not the author's latest case; act on their newer case (firebreak cases list)", cases.ErrState, id)
		case err != nil:
			return nil, err
		}
		if err := s.publishSaved(ctx, id, e); err != nil {
			// The change and its event are stored; the timer loop publishes it.
			s.d.Tel.Logger.WarnContext(ctx, "case changed; its event will be published shortly", "case", id, "err", err)
		}
		if c.Kind == fbv1.CaseKind_CASE_KIND_INCIDENT && c.State == fbv1.CaseState_CASE_STATE_RESOLVED {
			s.endIncident(ctx, c)
		}
		return c, nil
	}
	return nil, ledger.ErrConflict
}

// WatchCases streams case events until the client goes away.
func (s *Service) WatchCases(req *fbv1.WatchCasesRequest, stream fbv1.EscalationService_WatchCasesServer) error {
	caller, _ := auth.FromContext(stream.Context())
	leave, err := s.watchers.enter(caller.Subject)
	if err != nil {
		return err
	}
	defer leave()
	ch := make(chan *nats.Msg, 256)
	sub, err := s.d.NC.ChanSubscribe(s.d.Names.All("cases"), ch)
	if err != nil {
		return status.Errorf(codes.Unavailable, "subscribe to case events: %v", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	// Headers tell the client the subscription is live: every event after
	// this point reaches it.
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case msg := <-ch:
			e := &fbv1.CaseEvent{}
			if err := proto.Unmarshal(msg.Data, e); err != nil {
				continue
			}
			if (req.Team != "" && e.Case.GetTeam() != req.Team) || (req.Brand != "" && e.Case.GetBrand() != req.Brand) {
				continue
			}
			if err := stream.Send(&fbv1.WatchCasesResponse{Event: e}); err != nil {
				return err
			}
		}
	}
}

// ExplainDecision returns the decision recorded for a mention.
func (s *Service) ExplainDecision(ctx context.Context, req *fbv1.ExplainDecisionRequest) (*fbv1.ExplainDecisionResponse, error) {
	if req.MentionId == "" {
		return nil, status.Error(codes.InvalidArgument, "mention_id is required")
	}
	d, err := s.store.Decision(ctx, req.MentionId)
	if err != nil {
		return nil, toStatus(err)
	}
	return &fbv1.ExplainDecisionResponse{Decision: d}, nil
}

// EvaluatePolicy decides a mention with the given (or running) policy,
// touching nothing. The evaluation is bounded as live decisions are: by the
// cost limit (the route does not match, and its reason says so) and by
// policy.MaxEvalTime, past which the policy is refused as one that live
// mentions could not be decided with.
func (s *Service) EvaluatePolicy(ctx context.Context, req *fbv1.EvaluatePolicyRequest) (*fbv1.EvaluatePolicyResponse, error) {
	pol := s.policy.Load()
	if len(req.Policy) > maxPolicyBytes {
		return nil, status.Errorf(codes.InvalidArgument, "policy is %d bytes; at most %d are evaluated", len(req.Policy), maxPolicyBytes)
	}
	if req.Policy != "" {
		var err error
		if pol, err = policy.Parse([]byte(req.Policy)); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "policy refused: %v", err)
		}
	}
	if req.Mention == nil {
		return nil, status.Error(codes.InvalidArgument, "mention is required")
	}
	in := policy.Input{Mention: req.Mention, Score: req.Score, Reach: req.Reach, History: req.History}
	d, err := pol.DecideContext(ctx, in, s.clock.Now())
	switch {
	case errors.Is(err, policy.ErrDeadline):
		return nil, status.Errorf(codes.InvalidArgument, "policy refused: %v; live mentions would be decided without that route, so make its comprehensions smaller", err)
	case err != nil:
		return nil, status.FromContextError(err).Err()
	}
	return &fbv1.EvaluatePolicyResponse{Decision: d}, nil
}

// toStatus maps domain errors to gRPC codes; only here.
func toStatus(err error) error {
	switch {
	case errors.Is(err, cases.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, cases.ErrBadID), errors.Is(err, cases.ErrInput), errors.Is(err, errUnknownAction):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, cases.ErrState):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	return status.Error(codes.Unavailable, err.Error())
}
