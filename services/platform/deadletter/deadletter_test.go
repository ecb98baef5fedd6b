package deadletter_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/deadletter"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// TestDeadLettersAreListedReadAndReplayedThroughTheHandler: a message the
// handler refused is listed with its reason, read back whole, refused
// again while the cause remains (and kept), and once the cause is fixed
// replayed through the handler as it first arrived and deleted.
func TestDeadLettersAreListedReadAndReplayedThroughTheHandler(t *testing.T) {
	ctx := context.Background()
	js, pub, names := rig(t)
	var fixed atomic.Bool
	var replayedSubject atomic.Value
	handle := func(_ context.Context, msg jetstream.Msg) error {
		var s wrapperspb.StringValue
		if err := bus.Decode(msg, &s); err != nil {
			return err
		}
		if !fixed.Load() {
			return bus.Permanent(errors.New("mention has no author"))
		}
		replayedSubject.Store(msg.Subject())
		return nil
	}
	cons, err := bus.NewConsumer(ctx, js, pub, telemetrytest.New(t, "scorer"), bus.ConsumerConfig{
		Service: "scorer", Purpose: "mentions", Stream: names.Stream(bus.NounMentions), Subjects: []string{names.Scored()},
		DeadLetter: names.DeadLetter("scorer"), Handler: handle,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cons.Stop(context.Background()) })
	for _, id := range []string{"x:1", "x:2"} {
		if _, err := pub.Publish(ctx, bus.Event{Subject: names.Scored(), MsgID: bus.MsgID(id, "scored"), Type: bus.TypeMentionScored,
			Headers: map[string]string{bus.HeaderMentionID: id}, Message: wrapperspb.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	srv := deadletter.New(js, names, "scorer", handle)
	other := deadletter.New(js, names, "reach", handle)

	var list *fbv1.ListDeadLettersResponse
	testkit.Eventually(t, "two dead letters", func() bool {
		list, err = srv.ListDeadLetters(ctx, &fbv1.ListDeadLettersRequest{})
		return err == nil && len(list.DeadLetters) == 2
	})
	// Handled concurrently, the two may have failed in either order.
	first := list.DeadLetters[0]
	if first.MentionId != "x:1" {
		first = list.DeadLetters[1]
	}
	if first.Reason != "mention has no author" || first.Subject != names.Scored() || first.MentionId != "x:1" || first.EventType != bus.TypeMentionScored {
		t.Fatalf("dead letter %v: want its reason, first subject, mention and type", first)
	}
	page, err := srv.ListDeadLetters(ctx, &fbv1.ListDeadLettersRequest{PageSize: 1})
	if err != nil || len(page.DeadLetters) != 1 || page.Next != list.DeadLetters[0].Sequence {
		t.Fatalf("a page of one: %v, %v; want the first and a cursor at it", page, err)
	}
	if theirs, err := other.ListDeadLetters(ctx, &fbv1.ListDeadLettersRequest{}); err != nil || len(theirs.DeadLetters) != 0 {
		t.Fatalf("reach lists %v (%v), want none of the scorer's", theirs, err)
	}
	if _, err := other.GetDeadLetter(ctx, &fbv1.GetDeadLetterRequest{Sequence: first.Sequence}); status.Code(err) != codes.NotFound {
		t.Fatalf("reach reads the scorer's dead letter: %v", err)
	}
	got, err := srv.GetDeadLetter(ctx, &fbv1.GetDeadLetterRequest{Sequence: first.Sequence})
	if err != nil || len(got.DeadLetter.Data) == 0 || got.DeadLetter.Headers[bus.HeaderMentionID] != "x:1" {
		t.Fatalf("get: %v, %v; want the message's data and headers", got, err)
	}

	if _, err := srv.ReplayDeadLetter(ctx, &fbv1.ReplayDeadLetterRequest{Sequence: first.Sequence}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("replay while the cause remains: %v, want FailedPrecondition", err)
	}
	if _, err := srv.GetDeadLetter(ctx, &fbv1.GetDeadLetterRequest{Sequence: first.Sequence}); err != nil {
		t.Fatalf("a failed replay lost the dead letter: %v", err)
	}
	fixed.Store(true)
	if _, err := srv.ReplayDeadLetter(ctx, &fbv1.ReplayDeadLetterRequest{Sequence: first.Sequence}); err != nil {
		t.Fatalf("replay once fixed: %v", err)
	}
	if got := replayedSubject.Load(); got != names.Scored() {
		t.Errorf("the handler saw subject %v, want the message's first subject %s", got, names.Scored())
	}
	if _, err := srv.GetDeadLetter(ctx, &fbv1.GetDeadLetterRequest{Sequence: first.Sequence}); status.Code(err) != codes.NotFound {
		t.Fatalf("a replayed dead letter is still there: %v", err)
	}
	if left, err := srv.ListDeadLetters(ctx, &fbv1.ListDeadLettersRequest{}); err != nil || len(left.DeadLetters) != 1 {
		t.Fatalf("after one replay: %v, %v; want the other left", left, err)
	}
}

func rig(t *testing.T) (jetstream.JetStream, *bus.Publisher, bus.Names) {
	t.Helper()
	js, err := jetstream.New(bustest.Conn(t, bustest.Server(t)))
	if err != nil {
		t.Fatal(err)
	}
	names := bus.Names{Prefix: "fbt"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bus.EnsureStreams(ctx, js, names, bus.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	tel := telemetrytest.New(t, "test")
	return js, bus.NewPublisher(js, tel.Propagator, tel.Tracer), names
}
