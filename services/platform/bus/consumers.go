package bus

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/platform/telemetry"
)

// MentionConsumers are one durable consumer on each mention partition's
// stream, all with the same durable name, subjects (in their partition),
// handler and limits, started and stopped together. Each runs the one
// consumer loop on its own, so the partitions' messages are pulled, handled
// and acked side by side. MaxInFlight is the service's bound, shared out
// among the partitions; BatchWorkers apply to each.
type MentionConsumers struct{ parts []*Consumer }

// NewMentionConsumers creates cfg's durable consumer on every mention
// partition; cfg.Stream is set for each, and cfg.Subjects name subjects
// without a partition (Names.Scored(), Names.IngestedAll()).
func NewMentionConsumers(ctx context.Context, js jetstream.JetStream, pub *Publisher, tel *telemetry.Telemetry, names Names, cfg ConsumerConfig) (*MentionConsumers, error) {
	c := &MentionConsumers{}
	parts := names.MentionPartitions()
	if cfg.MaxInFlight > 0 {
		cfg.MaxInFlight = max((cfg.MaxInFlight+parts-1)/parts, 1)
	}
	for p := range parts {
		part := cfg
		part.Stream = names.MentionStream(p)
		part.Subjects = make([]string, len(cfg.Subjects))
		for i, s := range cfg.Subjects {
			part.Subjects[i] = names.InPartition(s, p)
		}
		consumer, err := NewConsumer(ctx, js, pub, tel, part)
		if err != nil {
			return nil, err
		}
		c.parts = append(c.parts, consumer)
	}
	return c, nil
}

// Failing reports whether any partition's consumer is failing (see
// Consumer.Failing).
func (c *MentionConsumers) Failing(d time.Duration) bool {
	return slices.ContainsFunc(c.parts, func(p *Consumer) bool { return p.Failing(d) })
}

// Start starts every partition's consumer; if one fails, those started are
// stopped.
func (c *MentionConsumers) Start(ctx context.Context) error {
	for i, part := range c.parts {
		if err := part.Start(ctx); err != nil {
			return errors.Join(err, stopAll(ctx, c.parts[:i]))
		}
	}
	return nil
}

// Stop drains every partition's consumer at once and returns when all
// have finished or ctx ends.
func (c *MentionConsumers) Stop(ctx context.Context) error { return stopAll(ctx, c.parts) }

// Ready fails while any partition's consumer is not pulling.
func (c *MentionConsumers) Ready(ctx context.Context) error {
	for _, part := range c.parts {
		if err := part.Ready(ctx); err != nil {
			return err
		}
	}
	return nil
}

func stopAll(ctx context.Context, parts []*Consumer) error {
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() { errs[i] = part.Stop(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
