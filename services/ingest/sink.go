package ingest

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/ingest/mention"
)

// Ingest is how the platform adapters (webhooks and streams) hand mentions
// in; it returns once they are durable. A mention the platform sent that
// fails validation is logged, counted and dropped: the platform will send
// it the same way next time, so refusing it would only stall the stream.
// Unlike the HTTP edge, Ingest waits for an in-flight slot rather than
// refusing, since a stream can wait and its platform will buffer.
func (s *Service) Ingest(ctx context.Context, mentions []*fbv1.Mention) error {
	now := s.now()
	valid := mentions[:0:0]
	for _, m := range mentions {
		if err := mention.Normalize(m, now); err != nil {
			s.dropped.Add(ctx, 1, metric.WithAttributes(attribute.String("platform", mention.PlatformName(m.Platform))))
			s.d.Tel.Logger.WarnContext(ctx, "platform sent a mention that is not valid; dropped",
				"platform", mention.PlatformName(m.Platform), "platform_id", m.PlatformId, "err", err)
			continue
		}
		valid = append(valid, m)
	}
	for len(valid) > 0 {
		n := min(len(valid), s.cfg.MaxBatch)
		if err := s.ingestBatch(ctx, valid[:n]); err != nil {
			return err
		}
		valid = valid[n:]
	}
	return nil
}

func (s *Service) ingestBatch(ctx context.Context, batch []*fbv1.Mention) error {
	select {
	case s.guard.inFlight <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait for an in-flight slot: %w", ctx.Err())
	}
	defer s.guard.release()
	_, err := s.accept(ctx, batch)
	return err
}

func (s *Service) initMetrics() error {
	var err error
	s.dropped, err = s.d.Tel.Meter.Meter("firebreak/ingest").Int64Counter("firebreak_ingest_platform_invalid_total",
		metric.WithDescription("mentions a platform sent that failed validation and were dropped"))
	return err
}
