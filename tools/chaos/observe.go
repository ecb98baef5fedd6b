package chaos

import (
	"context"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/tools/load"
	"github.com/firebreak/firebreak/tools/streamscan"
)

// Decided asks escalation for the decisions on the runs' mentions, waiting
// up to wait for those not decided yet.
func (s *Suite) Decided(ctx context.Context, runs []PhaseRun, wait time.Duration) (map[string]load.Decided, error) {
	var ids []string
	for _, r := range runs {
		for _, m := range r.Sent {
			if !m.Accepted.IsZero() && !m.BrandReply {
				ids = append(ids, m.ID())
			}
		}
	}
	return load.Decisions(ctx, s.esc, ids, wait)
}

// Observe reads the streams, the dead letters and the sink's pages into
// what the checker needs beside the decisions. The pages come last, once
// the pipeline has settled again: an event read from the stream may have
// fired a moment before (a chain timer late after a fault), and its page
// is owed only once the notifier has had it. Pages read first would miss
// it and count it unpaged though the notifier delivered it.
func (s *Suite) Observe(ctx context.Context) (Observed, error) {
	ob := Observed{Scored: map[string]bool{}, Reached: map[string]bool{}}
	if err := s.readStreams(ctx, &ob); err != nil {
		return ob, err
	}
	took, err := s.Settle(ctx)
	s.logf("pipeline settled again in %s after reading the streams (%v)", took.Round(time.Millisecond), err)
	ob.Pages = s.sink.Pages()
	return ob, nil
}

// readStreams reads the mention, cases and notifications streams and the
// dead letters into ob.
func (s *Suite) readStreams(ctx context.Context, ob *Observed) error {
	scored, reached := s.names.Scored(), s.names.Reached()
	for _, stream := range s.names.MentionStreams() {
		err := s.eachIn(ctx, stream, func(msg jetstream.Msg) {
			switch s.names.Unpartitioned(msg.Subject()) {
			case scored:
				ob.Scored[msg.Headers().Get(bus.HeaderMentionID)] = true
			case reached:
				ob.Reached[msg.Headers().Get(bus.HeaderMentionID)] = true
			}
		})
		if err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	err := s.each(ctx, bus.NounCases, func(msg jetstream.Msg) {
		var e fbv1.CaseEvent
		if proto.Unmarshal(msg.Data(), &e) != nil || seen[e.Id] {
			return
		}
		seen[e.Id] = true
		ob.Events = append(ob.Events, eventOf(&e))
	})
	if err != nil {
		return err
	}
	err = s.each(ctx, bus.NounNotifications, func(msg jetstream.Msg) {
		var d fbv1.Delivery
		if proto.Unmarshal(msg.Data(), &d) == nil {
			ob.Deliveries = append(ob.Deliveries, Delivery{EventID: d.EventId, Receiver: d.Receiver,
				Outcome: strings.TrimPrefix(d.Outcome.String(), "DELIVERY_OUTCOME_"), Attempt: d.Attempt, Error: d.Error})
		}
	})
	if err != nil {
		return err
	}
	return s.eachDeadLetter(ctx, func(msg jetstream.Msg) {
		h := msg.Headers()
		d := DeadLetter{Reason: h.Get(bus.HeaderDeadReason), Subject: h.Get(bus.HeaderDeadSubject), MentionID: h.Get(bus.HeaderMentionID)}
		if meta, err := msg.Metadata(); err == nil {
			d.At = meta.Timestamp
		}
		if d.Reason == "" {
			ob.Unexplained++
		}
		ob.DeadLetters = append(ob.DeadLetters, d)
	})
}

func eventOf(e *fbv1.CaseEvent) Event {
	return Event{
		ID: e.Id, Type: e.Type.String(), CaseID: e.Case.GetId(), MentionID: e.MentionId, Team: e.Case.GetTeam(),
		Episode: e.Case.GetEpisode(), Round: e.Round, Level: e.Level, Receivers: e.Receivers,
		Muted: e.Silenced != nil || e.Quiet, At: e.At.AsTime(),
	}
}

// each calls fn with every message of noun's stream; a short read is an
// error.
func (s *Suite) each(ctx context.Context, noun string, fn func(jetstream.Msg)) error {
	return s.eachIn(ctx, s.names.Stream(noun), fn)
}

// eachDeadLetter calls fn with every dead letter, of every service's
// dead-letter stream.
func (s *Suite) eachDeadLetter(ctx context.Context, fn func(jetstream.Msg)) error {
	for _, service := range bus.DeadLetterers() {
		if err := s.eachIn(ctx, s.names.DeadLetterStream(service), fn); err != nil {
			return err
		}
	}
	return nil
}

// eachIn calls fn with every message of the stream name; a short read is
// an error.
func (s *Suite) eachIn(ctx context.Context, name string, fn func(jetstream.Msg)) error {
	return streamscan.Each(ctx, s.js, name, fn)
}
