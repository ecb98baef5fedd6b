package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
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
	// Parent, when valid, is the parent of the event's send span instead
	// of the context's: in a batch, the span of the message that caused
	// the event (SpanOf), so that its trace goes on.
	Parent trace.SpanContext
}

// Publisher publishes events and waits until JetStream has stored them.
type Publisher struct {
	js     jetstream.JetStream
	prop   propagation.TextMapPropagator
	tracer trace.Tracer
}

// NewPublisher returns a publisher; prop injects the trace context, and tp
// makes a producer span per event, so a consumer's span is its child.
func NewPublisher(js jetstream.JetStream, prop propagation.TextMapPropagator, tp trace.TracerProvider) *Publisher {
	return &Publisher{js: js, prop: prop, tracer: tp.Tracer("firebreak/bus")}
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
	spans := make([]trace.Span, 0, len(events))
	defer func() {
		for _, span := range spans {
			span.End()
		}
	}()
	for i, e := range events {
		pctx := ctx
		if e.Parent.IsValid() {
			pctx = trace.ContextWithSpanContext(ctx, e.Parent)
		}
		sctx, span := p.span(pctx, e)
		spans = append(spans, span)
		msg, err := p.message(sctx, e)
		if err != nil {
			return nil, failed(span, err)
		}
		futures[i], err = p.js.PublishMsgAsync(msg, jetstream.WithMsgID(e.MsgID))
		if err != nil {
			if !errors.Is(err, nats.ErrMaxPayload) {
				err = Unavailable(err)
			}
			return nil, failed(span, fmt.Errorf("publish %s to %s: %w", e.MsgID, e.Subject, err))
		}
	}
	results := make([]Result, len(events))
	var errs []error
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			results[i] = Result{Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}
		case err := <-f.Err():
			errs = append(errs, failed(spans[i], fmt.Errorf("publish %s to %s: %w", events[i].MsgID, events[i].Subject, Unavailable(err))))
		case <-ctx.Done():
			return nil, failed(spans[i], fmt.Errorf("publish %s to %s: waiting for ack: %w", events[i].MsgID, events[i].Subject, Unavailable(ctx.Err())))
		}
	}
	return results, errors.Join(errs...)
}

// unavailableError is a publish the broker did not confirm: no stream
// answered (a leader election, a lost node, a deleted stream), the stream
// refused it (full, with discard new), or the ack did not come in time.
type unavailableError struct{ err error }

func (e unavailableError) Error() string { return e.err.Error() }
func (e unavailableError) Unwrap() error { return e.err }

// Unavailable marks err as something the message needs being unavailable
// for now: the bus unable to store what it caused, a receiver down. A
// consumer whose handler fails with it waits the outage out, however many
// deliveries that takes, instead of dead-lettering: the message is fine,
// what it needs is not.
func Unavailable(err error) error { return unavailableError{err} }

// IsUnavailable reports whether err, or one of the errors joined in it,
// was marked Unavailable.
func IsUnavailable(err error) bool { return errors.As(err, new(unavailableError)) }

// span starts the producer span of one event, named and described by
// OpenTelemetry's messaging conventions ("send <subject>").
func (p *Publisher) span(ctx context.Context, e Event) (context.Context, trace.Span) {
	return p.tracer.Start(ctx, "send "+e.Subject, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(messagingAttrs(e.Subject, "send", semconv.MessagingOperationTypeSend)...),
		trace.WithAttributes(semconv.MessagingMessageID(e.MsgID)))
}

// failed records err on span and returns it.
func failed(span trace.Span, err error) error {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	return err
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
