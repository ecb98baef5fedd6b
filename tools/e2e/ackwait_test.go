package e2e

import (
	"context"
	"flag"
	"io"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/escalation"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/config"
)

// A score or reach in flight on a replica that is SIGKILLed comes again
// only after its consumer's AckWait, and escalation decides the mention
// without it once its join timeout has run. With the services' defaults a
// part held by a dead scorer or reach replica, then by a dead escalation
// replica, must still come before the join timeout (make chaos: 538
// mentions decided without a part when the AckWait was 30s and the join
// timeout 10s).
func TestAPartInFlightOnDeadReplicasComesBeforeTheJoinTimeout(t *testing.T) {
	w := start(t)
	var esc escalation.Config
	fs := flag.NewFlagSet("escalation", flag.ContinueOnError)
	esc.Register(fs)
	if err := config.Parse(fs, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(w.nc)
	if err != nil {
		t.Fatal(err)
	}
	stream := bus.Names{Prefix: "firebreak"}.Stream(bus.NounMentions)
	ackWait := func(durable string) float64 {
		c, err := js.Consumer(context.Background(), stream, durable)
		if err != nil {
			t.Fatalf("consumer %s: %v", durable, err)
		}
		return c.CachedInfo().Config.AckWait.Seconds()
	}
	join := ackWait("escalation-join")
	for _, part := range []string{"scorer-mentions", "reach-mentions"} {
		late := ackWait(part)
		if late+join >= esc.JoinTimeout.Seconds() {
			t.Errorf("a part in flight on a dead %s replica, then on a dead escalation replica, comes %.0fs late (AckWait %.0fs + %.0fs): past the %s join timeout, so the mention is decided without it",
				part, late+join, late, join, esc.JoinTimeout)
		}
	}
}
