package scorer

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/scorer/score"
)

// messages is a stream like the twcs sample's: customers' mentions and,
// nearly half of them, the brand's replies.
func messages(b *testing.B) [][]byte {
	texts := []struct {
		brand bool
		text  string
	}{
		{false, "@acme flight 1234 delayed 3 hours, stranded at ORD and nobody at the desk. worst airline ever!!!"},
		{true, "@115718 Sorry for the wait! Please DM us your order number and we'll chase the courier for you today. ^JB"},
		{false, "@acme my parcel says delivered but it's not here, third time this month"},
		{true, "@115890 We're sorry your flight was delayed. The crew is on the way and boarding starts at 6:40pm, gate B12."},
		{false, "@acme thank you so much, the crew on my flight to Denver was amazing today"},
		{true, "@116433 We're really sorry to hear about your visit today. That isn't the experience we want for anyone."},
		{false, "@acme updated to iOS 11.1 and now my battery lasts half a day, not good at all"},
		{true, "@117002 Honestly, that's a bit much. Plenty of people waited longer, so calm down and wait like everyone else."},
	}
	out := make([][]byte, len(texts))
	for i, t := range texts {
		m := &fbv1.Mention{Id: fmt.Sprint("x:", i), Brand: "acme", Text: t.text, BrandReply: t.brand, Author: &fbv1.Author{Id: "a"},
			Visibility: fbv1.Visibility_VISIBILITY_PUBLIC, CreatedAt: timestamppb.Now()}
		data, err := proto.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = data
	}
	return out
}

// handleMessage is the scorer's CPU work on one message from the bus, as
// the consumer does it: decode, score (with or without the reply check),
// encode the event. Publishing is left out: it is the same either way.
func handleMessage(b *testing.B, sc *score.Scorer, data []byte, check bool) {
	var m fbv1.Mention
	if err := proto.Unmarshal(data, &m); err != nil {
		b.Fatal(err)
	}
	var s *fbv1.Score
	if check {
		s = ScoreMention(sc, &m)
	} else {
		s = scoreProto(m.Id, sc.Score(m.Text))
	}
	if _, err := proto.Marshal(&fbv1.ScoredMention{Mention: &m, Score: s}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPerMessageReplyCheckOverhead handles the same stream with and
// without the reply check, in turns on one locked thread, and reports what
// the check adds to the scorer's per-message CPU cost (the budget is 20%).
func BenchmarkPerMessageReplyCheckOverhead(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m, err := score.DefaultModel()
	if err != nil {
		b.Fatal(err)
	}
	sc, err := score.New(score.Options{Model: m})
	if err != nil {
		b.Fatal(err)
	}
	msgs := messages(b)
	var without, with time.Duration
	for b.Loop() {
		t0 := cpuTime()
		for _, data := range msgs {
			handleMessage(b, sc, data, false)
		}
		t1 := cpuTime()
		for _, data := range msgs {
			handleMessage(b, sc, data, true)
		}
		t2 := cpuTime()
		without += t1 - t0
		with += t2 - t1
	}
	n := float64(b.N * len(msgs))
	b.ReportMetric(100*float64(with-without)/float64(without), "overhead-%")
	b.ReportMetric(float64(without.Nanoseconds())/n, "ns/msg-without")
	b.ReportMetric(float64(with.Nanoseconds())/n, "ns/msg-with")
}
