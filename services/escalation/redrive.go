package escalation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/redrive"
)

// redrive is one RedriveService run: the scores, reaches and spreads of the
// window handed to the join again, then the receivers' acknowledgements
// and resolutions, then the acknowledgements and resolutions people made
// through the API (see redoAction). A mention whose decision survived is found decided and
// changes nothing (its message is offered as a first delivery, so its
// events, published before it was acked, are not published again); one
// whose decision was lost is joined and decided again, into the same case
// id (the author's case count went back with the case) and the same event
// ids, which the bus and the notifier deduplicate.
func (s *Service) redrive() redrive.Run {
	had := map[string]bool{} // mention id: its decision was there when first offered
	mentions := func(ctx context.Context, msg jetstream.Msg) (string, error) {
		if err := s.noteDecided(ctx, msg, had); err != nil {
			return "", err
		}
		return "", s.handle(ctx, msg)
	}
	commands := func(ctx context.Context, msg jetstream.Msg) (string, error) {
		return "", s.handleCommand(ctx, msg)
	}
	names := s.d.Names
	var sources []redrive.Source
	for p, stream := range names.MentionStreams() {
		sources = append(sources, redrive.Source{Stream: stream, Handle: mentions, Subjects: []string{
			names.InPartition(names.Scored(), p), names.InPartition(names.Reached(), p), names.InPartition(names.Spread(), p)}})
	}
	sources = append(sources,
		redrive.Source{Stream: names.Stream(bus.NounCommands), Subjects: []string{names.CaseCommands()}, Handle: commands},
		redrive.Source{Stream: names.Stream(bus.NounCases), Subjects: []string{
			names.Case(cases.EventName(fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED)),
			names.Case(cases.EventName(fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED))}, Handle: s.redoAction})
	return redrive.Run{
		Sources: sources,
		After: func(ctx context.Context) map[string]int64 {
			out := map[string]int64{}
			for id, was := range had {
				switch _, err := s.store.Decision(ctx, id); {
				case was:
					out["already_decided"]++
				case err == nil:
					out["decided_again"]++
				default:
					// Its other part was not in the window: the join
					// timeout decides it without.
					out["waiting"]++
				}
			}
			return out
		},
	}
}

// noteDecided records, the first time a mention's part is offered,
// whether its decision is there.
func (s *Service) noteDecided(ctx context.Context, msg jetstream.Msg, had map[string]bool) error {
	if s.d.Names.Unpartitioned(msg.Subject()) == s.d.Names.Spread() {
		return nil
	}
	m, _, err := s.part(msg)
	if err != nil || m.BrandReply {
		return nil // the handler says what is wrong with it
	}
	if _, seen := had[m.Id]; seen {
		return nil
	}
	_, err = s.store.Decision(ctx, m.Id)
	switch {
	case err == nil:
		had[m.Id] = true
	case errors.Is(err, cases.ErrNotFound):
		had[m.Id] = false
	default:
		return err
	}
	return nil
}

// redoAction applies again an acknowledgement or resolution that a case
// event of the window records, when Redis lost it: made through the API or
// the console, it is on no stream but as its event. It is applied in its
// actor's name, to the episode it was made for, as the command its event
// names, so the event made again has the event's id (the bus drops it as a
// duplicate) and a second redrive finds it applied.
func (s *Service) redoAction(ctx context.Context, msg jetstream.Msg) (string, error) {
	var e fbv1.CaseEvent
	if err := bus.Decode(msg, &e); err != nil {
		return "", err
	}
	c := e.GetCase()
	cmd := &fbv1.CaseCommand{CaseId: c.GetId(), Note: e.Note, Episode: &c.Episode,
		Id: strings.TrimPrefix(e.Id, c.GetId()+":"+cases.EventName(e.Type)+":")}
	switch e.Type {
	case fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED:
		cmd.Action = fbv1.CaseCommandAction_CASE_COMMAND_ACTION_ACKNOWLEDGE
	case fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED:
		cmd.Action = fbv1.CaseCommandAction_CASE_COMMAND_ACTION_RESOLVE
	default:
		return "", nil
	}
	if e.Actor == "" || c.GetKind() == fbv1.CaseKind_CASE_KIND_INCIDENT {
		return "", nil // not a person's action on a case
	}
	_, err := s.command(ctx, cmd, actor{name: e.Actor, method: e.AuthMethod, via: e.Via})
	switch {
	case errors.Is(err, cases.ErrState), errors.Is(err, ledger.ErrAlready):
		return "", nil // the case shows it, or a later change
	case err != nil:
		return "", fmt.Errorf("%s case %s again as %s: %w", actionName(cmd.Action), cmd.CaseId, e.Actor, err)
	}
	return "actions_redone", nil
}
