package notifier

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/redrive"
)

// redrive is one RedriveService run. First the marks of the deliveries
// made in the window are restored from the notifications stream, which
// records every one: a page whose mark Redis lost is not sent again. Then
// the window's case events are handled again: a page that went out is
// found in the log, an event still held is found held, and one whose held
// group Redis lost is held (or sent) again.
func (s *Service) redrive() redrive.Run {
	marks := func(ctx context.Context, msg jetstream.Msg) (string, error) {
		var d fbv1.Delivery
		if err := bus.Decode(msg, &d); err != nil {
			return "", err
		}
		restored, err := s.log.Restore(ctx, &d)
		if err != nil || !restored {
			return "", err
		}
		return "delivery_marks_restored", nil
	}
	events := func(ctx context.Context, msg jetstream.Msg) (string, error) {
		return "", s.handle(ctx, msg)
	}
	return redrive.Run{Sources: []redrive.Source{
		{Stream: s.d.Names.Stream(bus.NounNotifications), Subjects: []string{s.d.Names.Notification("delivered")}, Handle: marks},
		{Stream: s.d.Names.Stream(bus.NounCases), Subjects: []string{s.d.Names.All(bus.NounCases)}, Handle: events},
	}}
}
