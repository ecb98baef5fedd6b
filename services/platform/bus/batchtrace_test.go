package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/telemetry"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// Messages handled in one batch each keep their own trace: what the
// handler publishes for a message is sent in that message's trace, not in
// the trace of the batch's first message.
func TestEachMessageOfABatchGoesOnInItsOwnTrace(t *testing.T) {
	r := newRig(t)
	spans := tracetest.NewInMemoryExporter()
	tel := telemetrytest.NewWith(t, "bus", telemetry.Options{Spans: spans})
	pub := bus.NewPublisher(r.js, tel.Propagator, tel.Tracer)
	const n = 8
	release := make(chan struct{})
	largest := 0
	c, err := bus.NewConsumer(context.Background(), r.js, pub, tel, bus.ConsumerConfig{
		Service: "test", Purpose: "traces", Stream: r.names.Stream(bus.NounMentions),
		Subjects: []string{r.names.Scored()}, MaxDeliver: 3, MaxInFlight: n, BatchWorkers: 1,
		AckWait: 5 * time.Second, RetryBase: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		DeadLetter: r.names.DeadLetter("scorer"),
		Batch: func(ctx context.Context, msgs []jetstream.Msg) []error {
			<-release
			largest = max(largest, len(msgs))
			events := make([]bus.Event, len(msgs))
			for i, msg := range msgs {
				var text wrapperspb.StringValue
				if err := bus.Decode(msg, &text); err != nil {
					t.Error(err)
				}
				events[i] = bus.Event{Subject: r.names.Reached(), MsgID: "out-" + text.Value, Message: &text, Parent: bus.SpanOf(msg)}
			}
			errs := make([]error, len(msgs))
			if _, err := pub.Publish(ctx, events...); err != nil {
				for i := range errs {
					errs[i] = err
				}
			}
			return errs
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	for i := range n {
		// Each publish without a trace of its own starts one.
		if _, err := pub.Publish(context.Background(), bus.Event{Subject: r.names.Scored(), MsgID: fmt.Sprint("in-", i), Message: wrapperspb.String(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	r.pulled(t, "traces", n)
	close(release)
	traceOf := func(id string) (trace.TraceID, bool) {
		for _, s := range spans.GetSpans() {
			if s.SpanKind == trace.SpanKindProducer && hasAttr(s.Attributes, "messaging.message.id", id) {
				return s.SpanContext.TraceID(), true
			}
		}
		return trace.TraceID{}, false
	}
	testkit.Eventually(t, "a send span for every message's output", func() bool {
		_, ok := traceOf(fmt.Sprint("out-", n-1))
		return ok
	})
	if largest < 2 {
		t.Fatalf("largest batch %d: the messages were handled one by one, so this test shows nothing", largest)
	}
	seen := map[trace.TraceID]bool{}
	for i := range n {
		in, _ := traceOf(fmt.Sprint("in-", i))
		out, ok := traceOf(fmt.Sprint("out-", i))
		if !ok || out != in {
			t.Errorf("message %d was sent in trace %s; its output in %s, want the same", i, in, out)
		}
		seen[in] = true
	}
	if len(seen) != n {
		t.Errorf("%d traces for %d messages published apart, want one each", len(seen), n)
	}
}

func hasAttr(attrs []attribute.KeyValue, key, value string) bool {
	for _, a := range attrs {
		if string(a.Key) == key && a.Value.Emit() == value {
			return true
		}
	}
	return false
}
