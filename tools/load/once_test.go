package load

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/broker"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// Two replicas deciding one mention each publish its event under their own
// id; the check counts the second, and leaves alone a timer's escalation
// (no mention) and an incident's event caused by the same mention.
func TestCheckOnceCountsAMentionDecidedTwice(t *testing.T) {
	srv, err := broker.Start(broker.Options{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	names := bus.Names{Prefix: "oncetest"}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: names.Stream(bus.NounCases), Subjects: []string{names.All(bus.NounCases)}}); err != nil {
		t.Fatal(err)
	}
	opened := fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED
	events := []*fbv1.CaseEvent{
		{Id: "a", Type: opened, MentionId: "m1", Case: &fbv1.Case{Id: "c1"}, Level: 1},
		{Id: "b", Type: opened, MentionId: "m1", Case: &fbv1.Case{Id: "c1"}, Level: 1}, // decided again
		{Id: "c", Type: opened, MentionId: "m1", Case: &fbv1.Case{Id: "incident-1"}, Level: 1},
		{Id: "d", Type: fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED, Case: &fbv1.Case{Id: "c1"}, Level: 2},
		{Id: "e", Type: fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED, Case: &fbv1.Case{Id: "c1"}, Level: 2},
		{Id: "f", Type: opened, MentionId: "m2", Case: &fbv1.Case{Id: "c2"}, Level: 1},
	}
	for _, ev := range events {
		b, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, names.Case("opened"), b); err != nil {
			t.Fatal(err)
		}
	}
	got, err := CheckOnce(ctx, js, names)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Once{Events: 4, Duplicated: 1}); got != want {
		t.Fatalf("CheckOnce = %+v, want %+v", got, want)
	}
}

func TestScaleOutIsJudgedOnTheWorstReplicaCountAndOnDuplicates(t *testing.T) {
	run := func(n int, perSecond float64, dup int) Scale {
		return Scale{Replicas: n, Phase: Phase{Throughput: perSecond}, Once: Once{Duplicated: dup}}
	}
	goals := scaleTargets([]Scale{run(1, 1000, 0), run(2, 1100, 0), run(4, 900, 0)})
	if len(goals) != 2 || goals[0].Measured != 90 || goals[0].Met || !goals[1].Met {
		t.Fatalf("a 10%% drop at 4 replicas must be judged missed, and no duplicates met: %+v", goals)
	}
	goals = scaleTargets([]Scale{run(1, 1000, 0), run(2, 1360, 0)})
	if goals[0].Measured != 136 || !goals[0].Met {
		t.Fatalf("more throughput with more replicas is reported as it is: %+v", goals)
	}
	goals = scaleTargets([]Scale{run(1, 1000, 0), run(2, 990, 2)})
	if goals[0].Measured != 99 || !goals[0].Met || goals[1].Measured != 2 || goals[1].Met {
		t.Fatalf("two duplicated events must be judged missed: %+v", goals)
	}
	if goals := scaleTargets([]Scale{run(1, 1000, 0)}); goals != nil {
		t.Fatalf("one replica count has nothing to compare: %+v", goals)
	}
}
