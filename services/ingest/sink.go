package ingest

import (
	"context"
	"fmt"
	"net/http"

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
	return s.ingest(ctx, mentions, true)
}

// heldSink is the Sink of a handler that already holds an in-flight slot
// (see admitted): it must not wait for a second one, or handlers holding
// every slot would wait on each other for ever.
type heldSink struct{ s *Service }

func (h heldSink) Ingest(ctx context.Context, mentions []*fbv1.Mention) error {
	return h.s.ingest(ctx, mentions, false)
}

func (s *Service) ingest(ctx context.Context, mentions []*fbv1.Mention, takeSlot bool) error {
	now := s.clock.Now()
	valid := mentions[:0:0]
	for _, m := range mentions {
		if err := mention.Normalize(m, now); err != nil {
			// The error names fields, never the text: a private
			// message's text stays out of the logs.
			s.dropped.Add(ctx, 1, metric.WithAttributes(attribute.String("platform", mention.PlatformName(m.Platform))))
			s.d.Tel.Logger.WarnContext(ctx, "platform sent a mention that is not valid; dropped",
				"platform", mention.PlatformName(m.Platform), "platform_id", m.PlatformId, "err", err)
			continue
		}
		valid = append(valid, m)
	}
	for len(valid) > 0 {
		n := min(len(valid), s.cfg.MaxBatch)
		if err := s.ingestBatch(ctx, valid[:n], takeSlot); err != nil {
			return err
		}
		valid = valid[n:]
	}
	return nil
}

func (s *Service) ingestBatch(ctx context.Context, batch []*fbv1.Mention, takeSlot bool) error {
	if takeSlot {
		select {
		case s.guard.inFlight <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("wait for an in-flight slot: %w", ctx.Err())
		}
		defer s.guard.release()
	}
	_, err := s.accept(ctx, batch)
	return err
}

// admitted runs a platform webhook only once it holds an in-flight slot
// and its body's bytes (at most limit), taken before the body is read, so
// a flood of deliveries is refused with 503 (which the platform retries)
// instead of read into memory.
func (s *Service) admitted(h http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			h.ServeHTTP(w, r)
			return
		}
		if err := s.guard.enter(); err != nil {
			refuseUnread(w, err)
			return
		}
		defer s.guard.release()
		release, ok := s.reserveBody(w, r, limit)
		if !ok {
			return
		}
		defer release()
		h.ServeHTTP(w, r)
	})
}

func (s *Service) initMetrics() error {
	var err error
	s.dropped, err = s.d.Tel.Meter.Meter("firebreak/ingest").Int64Counter("firebreak.ingest.platform.invalid",
		metric.WithDescription("mentions a platform sent that failed validation and were dropped"))
	return err
}
