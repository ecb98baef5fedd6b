package escalation

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// handleCommand applies an acknowledgement or resolution that came through
// a receiver (a Slack button, a PagerDuty webhook). It is idempotent: a case
// already in the asked-for state is left as it is.
func (s *Service) handleCommand(ctx context.Context, msg jetstream.Msg) error {
	var cmd fbv1.CaseCommand
	if err := bus.Decode(msg, &cmd); err != nil {
		return err
	}
	if cmd.Actor == "" {
		cmd.Actor = cmd.Source
	}
	note := cmd.Note
	if note == "" {
		note = "via " + cmd.Source
	}
	var t transition
	switch cmd.Action {
	case fbv1.CaseCommandAction_CASE_COMMAND_ACTION_ACKNOWLEDGE:
		t = cases.Acknowledge
	case fbv1.CaseCommandAction_CASE_COMMAND_ACTION_RESOLVE:
		t = cases.Resolve
	default:
		return bus.Permanent(fmt.Errorf("command %s: unknown action %v", cmd.Id, cmd.Action))
	}
	// The source's signature was checked by the notifier; it is how this
	// actor authenticated.
	_, err := s.apply(ctx, cmd.CaseId, actor{name: cmd.Actor, method: cmd.Source}, note, t)
	switch {
	case errors.Is(err, cases.ErrState):
		return nil // already acknowledged or resolved: nothing to do
	case errors.Is(err, cases.ErrNotFound), errors.Is(err, cases.ErrBadID):
		return bus.Permanent(fmt.Errorf("command %s from %s: %w", cmd.Id, cmd.Source, err))
	}
	return err
}
