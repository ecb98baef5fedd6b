package escalation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// handleCommand applies a person's action that came through a receiver (a
// Slack button, a PagerDuty webhook). It is idempotent: a command is
// applied once whatever its redeliveries, and a case already in the
// asked-for state is left as it is.
func (s *Service) handleCommand(ctx context.Context, msg jetstream.Msg) error {
	var cmd fbv1.CaseCommand
	if err := bus.Decode(msg, &cmd); err != nil {
		return err
	}
	if cmd.Actor == "" {
		cmd.Actor = cmd.Source
	}
	if cmd.Note == "" {
		cmd.Note = "via " + cmd.Source
	}
	// The source's signature was checked by the notifier; it is how this
	// actor authenticated.
	_, err := s.command(ctx, &cmd, actor{name: cmd.Actor, method: cmd.Source, via: cmd.Via})
	switch {
	case errors.Is(err, cases.ErrState):
		return nil // already in the asked-for state: nothing to do
	case errors.Is(err, cases.ErrNotFound), errors.Is(err, cases.ErrBadID), errors.Is(err, cases.ErrInput), errors.Is(err, errUnknownAction):
		return bus.Permanent(fmt.Errorf("command %s from %s: %w", cmd.Id, cmd.Source, err))
	}
	return err
}

var errUnknownAction = errors.New("unknown action")

// command applies a person's action on a case: the one path for the API's
// calls and the bus's commands. Input is checked before the case is read.
func (s *Service) command(ctx context.Context, cmd *fbv1.CaseCommand, by actor) (*fbv1.Case, error) {
	t, err := s.transition(cmd)
	if err != nil {
		return nil, err
	}
	if cmd.Episode != nil {
		// Made for one episode (a PagerDuty incident, a Slack message):
		// it does not act on a later one.
		t = cases.ForEpisode(cmd.GetEpisode(), actionName(cmd.Action), t)
	}
	return s.apply(ctx, cmd.CaseId, by, cmd.Note, cmd.Id, t)
}

// transition is what a command does to a case.
func (s *Service) transition(cmd *fbv1.CaseCommand) (transition, error) {
	switch cmd.Action {
	case fbv1.CaseCommandAction_CASE_COMMAND_ACTION_ACKNOWLEDGE:
		return cases.Acknowledge, nil
	case fbv1.CaseCommandAction_CASE_COMMAND_ACTION_RESOLVE:
		return cases.Resolve, nil
	case fbv1.CaseCommandAction_CASE_COMMAND_ACTION_ASSIGN:
		if err := cases.CheckAssignee(cmd.Assignee); err != nil {
			return nil, err
		}
		return cases.Assign(cmd.Assignee), nil
	case fbv1.CaseCommandAction_CASE_COMMAND_ACTION_REOPEN:
		return func(c *fbv1.Case, actor, note string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, error) {
			return cases.Reopen(s.firstLevel(c.Chain))(c, actor, note, now)
		}, nil
	case fbv1.CaseCommandAction_CASE_COMMAND_ACTION_SNOOZE:
		d := time.Duration(cmd.SnoozeSeconds) * time.Second
		if cmd.SnoozeSeconds > int64(cases.MaxSnooze/time.Second) {
			d = cases.MaxSnooze + time.Second // out of bounds without overflowing
		}
		if err := cases.CheckSnooze(d); err != nil {
			return nil, err
		}
		// The end is counted from when the command was made, so a
		// redelivery asks for the same end.
		at := s.clock.Now()
		if cmd.At != nil {
			at = cmd.At.AsTime()
		}
		return cases.Snooze(at.Add(d)), nil
	case fbv1.CaseCommandAction_CASE_COMMAND_ACTION_UNSNOOZE:
		return cases.Unsnooze, nil
	}
	return nil, fmt.Errorf("%w %v", errUnknownAction, cmd.Action)
}

// actionName is a command's action in lowercase words: "acknowledge".
func actionName(a fbv1.CaseCommandAction) string {
	return strings.ToLower(strings.TrimPrefix(a.String(), "CASE_COMMAND_ACTION_"))
}

// firstLevel names the receivers of a chain's first level under the
// running policy (none when the policy lacks the chain: the notifier then
// routes by team).
func (s *Service) firstLevel(name string) []string {
	ch, ok := s.policy.Load().Chain(name)
	if !ok || len(ch.Levels) == 0 {
		return nil
	}
	return ch.Levels[0].Receivers
}
