package bus_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// BenchmarkConsumer measures the consumer loop alone (fetch, handle, ack
// each message once it is settled) on the embedded NATS, one message per
// handler call and in batches, so the loop's own cost per message is
// guarded apart from what the services do in their handlers.
func BenchmarkConsumer(b *testing.B) {
	for _, batched := range []bool{false, true} {
		b.Run(fmt.Sprintf("batch=%v", batched), func(b *testing.B) {
			r := newRig(b)
			var handled, calls atomic.Int64
			r.consumeWith(b, nil, func(c *bus.ConsumerConfig) {
				c.MaxInFlight, c.MaxDeliver = 64, 5
				if batched {
					c.Batch = func(_ context.Context, msgs []jetstream.Msg) []error {
						calls.Add(1)
						handled.Add(int64(len(msgs)))
						return make([]error, len(msgs))
					}
				} else {
					c.Handler = func(context.Context, jetstream.Msg) error { calls.Add(1); handled.Add(1); return nil }
				}
			})
			events := make([]bus.Event, 0, 100)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i += len(events) {
				events = events[:0]
				for j := i; j < min(i+100, b.N); j++ {
					events = append(events, bus.Event{Subject: r.names.Scored(), MsgID: bus.MsgID(fmt.Sprintf("bench-%d", j), "scored"), Type: "scored", Message: wrapperspb.String("x")})
				}
				if _, err := r.pub.Publish(context.Background(), events...); err != nil {
					b.Fatal(err)
				}
			}
			testkit.EventuallyWithin(b, time.Minute, "every message handled", func() bool { return handled.Load() >= int64(b.N) })
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			b.ReportMetric(float64(handled.Load())/float64(max(calls.Load(), 1)), "msgs/call")
		})
	}
}
