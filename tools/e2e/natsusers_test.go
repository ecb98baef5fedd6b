package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// TestEveryServiceCanDoItsOwnWork runs Firebreak with each service logged
// in to NATS as its own user, limited to the subjects of the permission
// table, and has each do what it really does: ingest publishes a
// complaint, the scorer and reach consume it and publish theirs,
// escalation joins them, opens a case and streams it to a watcher, the
// notifier pages and passes a receiver's acknowledgement on as a case
// command, which escalation applies; the scorer and reach dead-letter a
// message they cannot read; the console reads the streams' state.
func TestEveryServiceCanDoItsOwnWork(t *testing.T) {
	w := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	watch, err := w.escalation.WatchCases(ctx, &fbv1.WatchCasesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Header(); err != nil { // escalation has subscribed to the case events
		t.Fatal(err)
	}

	w.post(post{id: "own-1", author: "dan", followers: 332_000, text: complaint})
	d := w.decision("x:own-1")
	if !d.Escalate || d.CaseId == "" || d.Score == nil || d.Reach == nil {
		t.Fatalf("decision %v: want a scored, reached, escalated complaint", d)
	}
	opened, err := watch.Recv()
	if err != nil || opened.Event.GetCase().GetId() != d.CaseId {
		t.Fatalf("watched %v, %v; want case %s", opened, err, d.CaseId)
	}
	w.pagesAbout("dan", 1)

	// A PagerDuty acknowledgement, as the notifier's callback publishes it.
	js, err := jetstream.New(bustest.ConnAs(t, w.srv, "notifier"))
	if err != nil {
		t.Fatal(err)
	}
	names := bus.Names{Prefix: bustest.Prefix}
	cmd := &fbv1.CaseCommand{Id: "pagerduty:own-1", CaseId: d.CaseId, Action: fbv1.CaseCommandAction_CASE_COMMAND_ACTION_ACKNOWLEDGE,
		Actor: "ana@pagerduty", Source: "pagerduty", At: timestamppb.Now()}
	msg := nats.NewMsg(names.CaseCommands())
	if msg.Data, err = proto.Marshal(cmd); err != nil {
		t.Fatal(err)
	}
	msg.Header.Set(bus.HeaderEvent, bus.TypeCaseCommand)
	msg.Header.Set(bus.HeaderCaseID, d.CaseId)
	if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(cmd.Id)); err != nil {
		t.Fatalf("the notifier's case command: %v", err)
	}
	testkit.Eventually(t, "escalation applies the notifier's acknowledgement", func() bool {
		c, _ := w.caseOf(d.CaseId)
		return c.State == fbv1.CaseState_CASE_STATE_ACKNOWLEDGED
	})

	// A mention nobody can decode is dead-lettered by each consumer of it.
	harness, err := jetstream.New(w.nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := harness.Publish(ctx, names.Ingested("x"), []byte("\xff not a mention"), jetstream.WithMsgID("garbage-1")); err != nil {
		t.Fatal(err)
	}
	for _, service := range []string{"scorer", "reach"} {
		dead, err := harness.Stream(ctx, names.DeadLetterStream(service))
		if err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, service+" dead-letters the garbage", func() bool {
			_, err := dead.GetLastMsgForSubject(ctx, names.DeadLetter(service))
			return err == nil
		})
	}

	// Every service is ready: connected, consuming, its streams observed.
	for name, addr := range w.stack.HTTPAddrs() {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s not ready: %d", name, resp.StatusCode)
		}
	}
}
