package load

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// Once is what the cases stream says about exactly-once decisions: a
// mention decided twice (by two replicas, say) publishes two events of the
// same type for the same case under different ids, since an event's id is
// deterministic in its cause.
type Once struct {
	// Events are the case events caused by a mention.
	Events int `json:"case_events"`
	// Duplicated are events beyond the first for one case, mention, type,
	// level and round.
	Duplicated int `json:"duplicated_case_events"`
}

// onceKey is what one decision about one mention can publish once.
type onceKey struct {
	caseID, mention string
	typ             fbv1.CaseEventType
	level, round    int32
}

// CheckOnce reads every case event in the cases stream and counts the
// mentions' events that were published more than once.
func CheckOnce(ctx context.Context, js jetstream.JetStream, names bus.Names) (Once, error) {
	ids := map[onceKey]map[string]bool{}
	var decodeErr error
	err := eachMsg(ctx, js, names.Stream(bus.NounCases), func(msg jetstream.Msg) {
		var ev fbv1.CaseEvent
		if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
			decodeErr = fmt.Errorf("case event on %s is not a CaseEvent: %w", msg.Subject(), err)
			return
		}
		if ev.MentionId == "" {
			return // a command or a timer: no decision behind it
		}
		k := onceKey{ev.GetCase().GetId(), ev.MentionId, ev.Type, ev.Level, ev.Round}
		if ids[k] == nil {
			ids[k] = map[string]bool{}
		}
		ids[k][ev.Id] = true
	})
	if err != nil {
		return Once{}, err
	}
	var o Once
	for _, set := range ids {
		o.Events += len(set)
		o.Duplicated += len(set) - 1
	}
	return o, decodeErr
}

// eachMsg calls fn with every message the stream holds now.
func eachMsg(ctx context.Context, js jetstream.JetStream, name string, fn func(jetstream.Msg)) error {
	stream, err := js.Stream(ctx, name)
	if err != nil {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	for seen := uint64(0); seen < info.State.Msgs; {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		n := 0
		for msg := range batch.Messages() {
			fn(msg)
			n++
		}
		if n == 0 {
			return fmt.Errorf("read %s: %d of its %d messages came before the stream stopped answering", name, seen, info.State.Msgs)
		}
		seen += uint64(n)
	}
	return nil
}
