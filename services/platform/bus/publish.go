package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"
)

// Event is one message to publish.
type Event struct {
	Subject string
	// MsgID is the JetStream dedup id; make it deterministic (see MsgID) so a
	// retried publish is dropped by the broker instead of doubled.
	MsgID   string
	Type    string
	Headers map[string]string
	Message proto.Message
	// Data is sent as-is when Message is nil (dead letters keep the bytes
	// they were given).
	Data []byte
}

// Publisher publishes events and waits until JetStream has stored them.
type Publisher struct {
	js   jetstream.JetStream
	prop propagation.TextMapPropagator
}

// NewPublisher returns a publisher; prop injects the trace context.
func NewPublisher(js jetstream.JetStream, prop propagation.TextMapPropagator) *Publisher {
	return &Publisher{js: js, prop: prop}
}

// Result is the broker's answer for one published event.
type Result struct {
	Stream    string
	Sequence  uint64
	Duplicate bool
}

// Publish sends all events at once and waits for every ack, so n events cost
// one round trip rather than n. It fails if any event was not stored; events
// are safe to publish again since their ids dedup.
func (p *Publisher) Publish(ctx context.Context, events ...Event) ([]Result, error) {
	futures := make([]jetstream.PubAckFuture, len(events))
	for i, e := range events {
		msg, err := p.message(ctx, e)
		if err != nil {
			return nil, err
		}
		futures[i], err = p.js.PublishMsgAsync(msg, jetstream.WithMsgID(e.MsgID))
		if err != nil {
			return nil, fmt.Errorf("publish %s to %s: %w", e.MsgID, e.Subject, err)
		}
	}
	results := make([]Result, len(events))
	var errs []error
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			results[i] = Result{Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}
		case err := <-f.Err():
			errs = append(errs, fmt.Errorf("publish %s to %s: %w", events[i].MsgID, events[i].Subject, err))
		case <-ctx.Done():
			return nil, fmt.Errorf("publish %s to %s: waiting for ack: %w", events[i].MsgID, events[i].Subject, ctx.Err())
		}
	}
	return results, errors.Join(errs...)
}

func (p *Publisher) message(ctx context.Context, e Event) (*nats.Msg, error) {
	if e.MsgID == "" {
		return nil, fmt.Errorf("publish to %s: event has no MsgID; every event needs a deterministic dedup id", e.Subject)
	}
	data := e.Data
	if e.Message != nil {
		var err error
		if data, err = proto.Marshal(e.Message); err != nil {
			return nil, fmt.Errorf("encode %s: %w", e.MsgID, err)
		}
	}
	msg := nats.NewMsg(e.Subject)
	msg.Data = data
	for k, v := range e.Headers {
		msg.Header.Set(k, v)
	}
	if e.Type != "" {
		msg.Header.Set(HeaderEvent, e.Type)
	}
	p.prop.Inject(ctx, headerCarrier(msg.Header))
	return msg, nil
}
