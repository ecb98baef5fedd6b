package scorer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/deps/depstest"
	"github.com/firebreak/firebreak/services/platform/rpc"
)

func TestScoresEveryIngestedMentionAndAnswersOverGRPC(t *testing.T) {
	env := depstest.New(t)
	d := env.Deps(t, "scorer")
	svc, err := New(t.Context(), Config{Common: env.Common, MaxInFlight: 4}, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })

	// The test publishes as ingest would, and reads what the scorer,
	// connected as its own NATS user, published.
	d = env.Deps(t, "test")
	m := &fbv1.Mention{Id: "x:1", Brand: "acme", Text: "@acme my flight was cancelled and nobody answers. Worst airline ever!",
		Author: &fbv1.Author{Id: "u"}, CreatedAt: timestamppb.Now()}
	if _, err := d.Publisher.Publish(context.Background(), bus.Event{Subject: d.Names.Ingested("x"), MsgID: "x:1:ingested", Message: m}); err != nil {
		t.Fatal(err)
	}
	cons, err := d.JS.OrderedConsumer(context.Background(), d.Names.Stream(bus.NounMentions), jetstream.OrderedConsumerConfig{FilterSubjects: []string{d.Names.Scored()}})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatalf("no scored mention: %v", err)
	}
	var sm fbv1.ScoredMention
	if err := proto.Unmarshal(msg.Data(), &sm); err != nil {
		t.Fatal(err)
	}
	if sm.Mention.Id != "x:1" || sm.Score.Sentiment != fbv1.Sentiment_SENTIMENT_NEGATIVE || sm.Score.Complaint < 0.5 || sm.Score.ModelVersion == "" {
		t.Fatalf("scored %v", sm.Score)
	}

	conn, err := rpc.Dial(svc.GRPCAddr(), env.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := fbv1.NewScorerServiceClient(conn)
	resp, err := client.Score(context.Background(), &fbv1.ScoreRequest{Text: "Thank you so much, the crew was wonderful!"})
	if err != nil || resp.Score.Sentiment != fbv1.Sentiment_SENTIMENT_POSITIVE {
		t.Fatalf("Score: %v %v", resp, err)
	}
	if _, err := client.Score(context.Background(), &fbv1.ScoreRequest{}); err == nil || !strings.Contains(err.Error(), "InvalidArgument") {
		t.Fatalf("empty text: %v", err)
	}
	check, err := client.CheckReply(context.Background(), &fbv1.CheckReplyRequest{
		Draft: "Calm down, that's a bit harsh.", Mention: m, Public: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, f := range check.Findings {
		codes = append(codes, f.Code)
		if f.End <= f.Start && f.Start != 0 {
			t.Errorf("finding %s has span %d-%d", f.Code, f.Start, f.End)
		}
	}
	if !strings.Contains(strings.Join(codes, ","), "dismissive") || !strings.Contains(strings.Join(codes, ","), "hostile") {
		t.Fatalf("findings %v: want dismissive and hostile tone", codes)
	}
	if c := check.Check; c == nil || !c.Hostile || !c.Dismissive || !c.Public || len(c.Findings) != len(check.Findings) {
		t.Fatalf("verdict %v: want hostile, dismissive and public with the same findings", c)
	}
}
