package notifier

import (
	"fmt"
	"net/http/httptest"
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

func TestSilencedEventsPageNobodyOnAnyReplica(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	r := newRig(t, 2, Config{WebhookURL: srv.URL})
	muted := &fbv1.Silence{Id: "s1", Comment: "broadband outage north", CreatedBy: "alice"}
	for i := range 6 {
		ev := event(fmt.Sprintf("m%d-1", i), fmt.Sprintf("m%d-1:opened:m", i), 1)
		ev.Silenced = muted
		r.publish(ev, 0)
		r.publish(ev, 1)
	}
	loud := event("loud-1", "loud-1:opened:m", 1)
	r.publish(loud, 0)
	// Events are handled in order per consumer, but two replicas share
	// them: wait until the stream is drained, then count.
	testkit.Eventually(t, "the unsilenced page", func() bool { return len(h.got()) >= 1 })
	settle(t, r.bus)
	if got := h.got(); len(got) != 1 {
		t.Fatalf("%d pages (%v), want only the unsilenced case's", len(got), got)
	}
}
