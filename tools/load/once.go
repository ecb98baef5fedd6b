package load

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/tools/streamscan"
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
	err := streamscan.Each(ctx, js, names.Stream(bus.NounCases), func(msg jetstream.Msg) {
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
