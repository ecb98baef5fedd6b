package deadletter_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/deadletter"
)

// TestDeadLettersOfTheSharedStreamMoveToTheirServicesAtUpgrade: an
// installation upgraded from the one shared dead-letter stream keeps its
// dead letters. The stream owner, with its own NATS user, moves each into
// its service's stream at start-up, where its service lists it with the
// time it was first stored and replays it; one of a service that has no
// stream stays in the shared stream.
func TestDeadLettersOfTheSharedStreamMoveToTheirServicesAtUpgrade(t *testing.T) {
	ctx := context.Background()
	srv := bustest.Server(t)
	names := bus.Names{Prefix: bustest.Prefix}
	harness, err := jetstream.New(bustest.Conn(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	// The streams as an earlier release left them.
	for _, service := range bus.DeadLetterers() {
		if err := harness.DeleteStream(ctx, names.DeadLetterStream(service)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := harness.CreateStream(ctx, jetstream.StreamConfig{Name: names.SharedDeadLetterStream(),
		Subjects: []string{names.All(bus.NounDeadLetter)}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	old := map[string][]string{"scorer": {"m:1", "m:2"}, "reach": {"m:3"}, "retired": {"m:4"}}
	for _, service := range []string{"scorer", "reach", "retired"} {
		for _, id := range old[service] {
			msg := nats.NewMsg(names.DeadLetter(service))
			msg.Data = []byte("text of " + id)
			msg.Header.Set(bus.HeaderMentionID, id)
			msg.Header.Set(bus.HeaderDeadSubject, names.Scored())
			msg.Header.Set(bus.HeaderDeadReason, "no author")
			msg.Header.Set(bus.HeaderEvent, bus.TypeMentionScored)
			if _, err := harness.PublishMsg(ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := time.Now()

	owner, err := jetstream.New(bustest.ConnAs(t, srv, bus.StreamOwner))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a second start finds nothing to move
		if err := bus.EnsureStreams(ctx, owner, names, bus.StreamOptions{}); err != nil {
			t.Fatalf("the stream owner's start-up after the upgrade: %v", err)
		}
	}

	var replayed []string
	serve := func(service string) *deadletter.Server {
		js, err := jetstream.New(bustest.ConnAs(t, srv, service))
		if err != nil {
			t.Fatal(err)
		}
		return deadletter.New(js, names, service, func(_ context.Context, msg jetstream.Msg) error {
			replayed = append(replayed, service+" "+msg.Headers().Get(bus.HeaderMentionID)+" "+msg.Subject())
			return nil
		})
	}
	for _, service := range []string{"scorer", "reach"} {
		list, err := serve(service).ListDeadLetters(ctx, &fbv1.ListDeadLettersRequest{})
		if err != nil {
			t.Fatalf("%s listing its dead letters: %v", service, err)
		}
		var got []string
		for _, d := range list.DeadLetters {
			got = append(got, d.MentionId)
			if d.At.AsTime().After(before) || d.Reason != "no author" || d.Service != service {
				t.Errorf("%s's moved dead letter %v: want its first time (before %v), reason and service", service, d, before)
			}
		}
		if len(got) != len(old[service]) || got[0] != old[service][0] {
			t.Fatalf("%s lists %v after the upgrade, want %v", service, got, old[service])
		}
	}
	scorer := serve("scorer")
	list, _ := scorer.ListDeadLetters(ctx, &fbv1.ListDeadLettersRequest{})
	if _, err := scorer.ReplayDeadLetter(ctx, &fbv1.ReplayDeadLetterRequest{Sequence: list.DeadLetters[0].Sequence}); err != nil {
		t.Fatalf("replaying a moved dead letter: %v", err)
	}
	if len(replayed) != 1 || replayed[0] != "scorer m:1 "+names.Scored() {
		t.Fatalf("replayed %v, want the scorer's m:1 on its first subject", replayed)
	}

	shared, err := harness.Stream(ctx, names.SharedDeadLetterStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := shared.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("the shared stream holds %d, want only the dead letter of the service without a stream", info.State.Msgs)
	}
	// New dead letters go to their service's stream.
	if _, err := harness.Publish(ctx, names.DeadLetter("reach"), []byte("new")); err != nil {
		t.Fatalf("a dead letter after the upgrade: %v", err)
	}
	if list, err := serve("reach").ListDeadLetters(ctx, &fbv1.ListDeadLettersRequest{}); err != nil || len(list.DeadLetters) != 2 {
		t.Fatalf("reach lists %v (%v) after a new dead letter, want 2", list, err)
	}
}
