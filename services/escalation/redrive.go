package escalation

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/redrive"
)

// redrive is one RedriveService run: the scores, reaches and spreads of the
// window handed to the join again, then the receivers' acknowledgements
// and resolutions. A mention whose decision survived is found decided and
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
	return redrive.Run{
		Sources: append(sources, redrive.Source{Stream: names.Stream(bus.NounCommands), Subjects: []string{names.CaseCommands()}, Handle: commands}),
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
	m, _, _, err := s.part(msg)
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
