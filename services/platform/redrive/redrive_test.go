package redrive

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
)

func TestWildcardTakesEverySubjectAndNoMore(t *testing.T) {
	for _, c := range []struct {
		subjects []string
		want     string
	}{
		{[]string{"fb.mentions.scored"}, "fb.mentions.scored"},
		{[]string{"fb.mentions.scored", "fb.mentions.reached", "fb.mentions.spread"}, "fb.mentions.>"},
		{[]string{"fb.cases.>"}, "fb.cases.>"},
		{[]string{"fb.cases.>", "fb.commands.cases"}, "fb.>"},
	} {
		got := wildcard(c.subjects)
		if got != c.want {
			t.Errorf("wildcard(%v) = %s, want %s", c.subjects, got, c.want)
		}
		for _, s := range c.subjects {
			if !bus.SubjectMatches(got, s) && !bus.SubjectMatches(got, s+".x") {
				t.Errorf("wildcard %s does not take %s", got, s)
			}
		}
	}
}

func TestAWindowMustBeShortAndInOrder(t *testing.T) {
	now := time.Now()
	for _, req := range []*fbv1.RedriveRequest{
		{},
		{Since: timestamppb.New(now.Add(time.Second))},
		{Since: timestamppb.New(now.Add(-2 * time.Hour))},
		{Since: timestamppb.New(now), Until: timestamppb.New(now.Add(-time.Second))},
	} {
		if _, err := window(req, now); status.Code(err) != codes.InvalidArgument {
			t.Errorf("window %v: %v, want InvalidArgument", req, err)
		}
	}
}

// TestOnlyTheWindowsMessagesOnTheSubjectsAreOffered: of a stream's
// messages, the ones stored in the window on the source's subjects are
// handed to the handler, in order, as first deliveries.
func TestOnlyTheWindowsMessagesOnTheSubjectsAreOffered(t *testing.T) {
	ctx := context.Background()
	js, err := jetstream.New(bustest.Conn(t, bustest.Server(t)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "W", Subjects: []string{"w.>"}}); err != nil {
		t.Fatal(err)
	}
	publish := func(subject string, n int) {
		for i := range n {
			if _, err := js.Publish(ctx, subject, fmt.Appendf(nil, "%s %d", subject, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish("w.a", 3) // before the window
	wait := func() time.Time {
		// Stored times are the server's; make sure the next message is
		// stored strictly later than this moment.
		at := time.Now()
		for !time.Now().After(at.Add(time.Millisecond)) {
		}
		return at
	}
	since := wait()
	publish("w.a", 2)
	publish("w.b", 2) // not the source's subject
	publish("w.c", 1)
	until := wait()
	publish("w.a", 2) // after the window

	var got []string
	server := New(js, "test", func() Run {
		return Run{Sources: []Source{{Stream: "W", Subjects: []string{"w.a", "w.c"}, Handle: func(_ context.Context, msg jetstream.Msg) (string, error) {
			meta, err := msg.Metadata()
			if err != nil || meta.NumDelivered != 1 {
				return "", fmt.Errorf("metadata %v, %v: want a first delivery", meta, err)
			}
			got = append(got, string(msg.Data()))
			return "seen", nil
		}}}}
	})
	resp, err := server.Redrive(ctx, &fbv1.RedriveRequest{Since: timestamppb.New(since), Until: timestamppb.New(until)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"w.a 0", "w.a 1", "w.c 0"}
	if fmt.Sprint(got) != fmt.Sprint(want) || resp.Outcomes["seen"] != 3 {
		t.Fatalf("offered %v (outcomes %v), want %v", got, resp.Outcomes, want)
	}
	if s := resp.Streams[0]; s.FirstSequence != 4 || s.LastSequence != 8 || s.Offered != 3 {
		t.Fatalf("stream report %v, want sequences 4 to 8, 3 offered", s)
	}
}
