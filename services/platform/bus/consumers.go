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
// consumer loop on its own, so the partitions' messages are pulled and
// acked side by side. MaxInFlight is the service's bound, shared out among
// the partitions. So are a batch handler's BatchWorkers: its batches
// gather what every partition pulled, so that more partitions do not mean
// smaller batches (the per-message cost of a batch of one is what
// saturates the cores).
type MentionConsumers struct {
	parts  []*Consumer
	shared *batcher
	// batching is closed when the shared batcher has handed out its last
	// batch.
	batching chan struct{}
}

// NewMentionConsumers creates cfg's durable consumer on every mention
// partition; cfg.Stream is set for each, and cfg.Subjects name subjects
// without a partition (Names.Scored(), Names.IngestedAll()).
func NewMentionConsumers(ctx context.Context, js jetstream.JetStream, pub *Publisher, tel *telemetry.Telemetry, names Names, cfg ConsumerConfig) (*MentionConsumers, error) {
	c := &MentionConsumers{}
	parts := names.MentionPartitions()
	if cfg.MaxInFlight > 0 {
		cfg.MaxInFlight = max((cfg.MaxInFlight+parts-1)/parts, 1)
	}
	cfg.defaults()
	if cfg.Batch != nil && parts > 1 {
		c.shared = newBatcher(cfg.MaxInFlight*parts, cfg.BatchWorkers, cfg.MaxBatch)
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
		consumer.shared = c.shared
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
	if c.shared != nil {
		c.batching = make(chan struct{})
		go func() { defer close(c.batching); c.shared.run() }()
	}
	for i, part := range c.parts {
		if err := part.Start(ctx); err != nil {
			return errors.Join(err, c.stop(ctx, c.parts[:i]))
		}
	}
	return nil
}

// Stop drains every partition's consumer at once and returns when all
// have finished or ctx ends.
func (c *MentionConsumers) Stop(ctx context.Context) error { return c.stop(ctx, c.parts) }

// stop stops parts, then the shared batcher once no partition can queue
// another message. A drain cut short by ctx leaves the batcher running for
// the messages still coming: the process is on its way out.
func (c *MentionConsumers) stop(ctx context.Context, parts []*Consumer) error {
	if err := stopAll(ctx, parts); err != nil {
		return err
	}
	if c.batching != nil {
		close(c.shared.queue)
		<-c.batching
		c.batching = nil
	}
	return nil
}

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
