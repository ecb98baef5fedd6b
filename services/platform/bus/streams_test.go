package bus_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
)

func streamInfo(t *testing.T, js jetstream.JetStream, name string) *jetstream.StreamInfo {
	t.Helper()
	st, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestEachStreamHasItsOwnBudgetSizeLimitAndDiscardPolicy(t *testing.T) {
	nc := bustest.Conn(t, bustest.Server(t))
	js, err := bus.NewJetStream(nc, bus.PublishAckTimeout)
	if err != nil {
		t.Fatal(err)
	}
	names := bus.Names{Prefix: "lim"}
	budgets := map[string]int64{bus.NounMentions: 64 << 10, bus.NounDeadLetter: 16 << 10}
	if err := bus.EnsureStreams(context.Background(), js, names, bus.StreamOptions{MaxBytes: budgets}); err != nil {
		t.Fatal(err)
	}
	for _, spec := range names.Streams() {
		cfg, want := streamInfo(t, js, spec.Name).Config, bus.DefaultLimits[spec.Noun]
		if b, ok := budgets[spec.Noun]; ok {
			want.MaxBytes = b
		}
		if cfg.MaxBytes != want.MaxBytes || cfg.MaxMsgSize != want.MaxMsgSize || cfg.Discard != want.Discard {
			t.Errorf("stream %s: max bytes %d, max message %d, discard %v; want %d, %d, %v", cfg.Name,
				cfg.MaxBytes, cfg.MaxMsgSize, cfg.Discard, want.MaxBytes, want.MaxMsgSize, want.Discard)
		}
	}
	tel := telemetrytest.New(t, "bus")
	pub := bus.NewPublisher(js, tel.Propagator, tel.Tracer)
	publish := func(subject, id string, size int) error {
		_, err := pub.Publish(context.Background(), bus.Event{Subject: subject, MsgID: id, Data: bytes.Repeat([]byte("m"), size)})
		return err
	}

	// A flood of mentions, four times the budget: every publish is stored
	// and the oldest go.
	for i := range 256 {
		if err := publish(names.Scored(), "m-"+strconv.Itoa(i), 1<<10); err != nil {
			t.Fatalf("mention %d refused: %v", i, err)
		}
	}
	m := streamInfo(t, js, names.Stream(bus.NounMentions)).State
	if m.Bytes > 64<<10 || m.FirstSeq == 1 || m.LastSeq != 256 {
		t.Fatalf("mentions stream holds %d bytes from seq %d to %d; want at most 64 KiB, the oldest discarded", m.Bytes, m.FirstSeq, m.LastSeq)
	}
	// The flood took nothing from the other streams.
	if err := publish(names.Case("opened"), "case-1", 1<<10); err != nil {
		t.Fatalf("a case event after the mention flood: %v", err)
	}

	// Dead letters past their budget: the new one is refused, none is lost,
	// and another service's dead letters are still taken.
	var refused error
	stored := 0
	for i := range 64 {
		if refused = publish(names.DeadLetter("scorer"), "dl-"+strconv.Itoa(i), 1<<10); refused != nil {
			break
		}
		stored++
	}
	d := streamInfo(t, js, names.DeadLetterStream("scorer")).State
	if refused == nil || d.FirstSeq != 1 || d.Msgs != uint64(stored) {
		t.Fatalf("dead letters past a 16 KiB budget: refused %v, stream holds %d of %d from seq %d; want a refusal and the oldest kept", refused, d.Msgs, stored, d.FirstSeq)
	}
	t.Logf("dead letters: %d of 1 KiB stored, the next refused: %v", stored, refused)
	if err := publish(names.DeadLetter("reach"), "dl-reach", 1<<10); err != nil {
		t.Fatalf("reach's dead letter after the scorer's filled its stream: %v", err)
	}

	// A message larger than its stream's producers make is refused there,
	// and only there.
	if err := publish(names.Scored(), "huge", 300<<10); err == nil {
		t.Fatal("a 300 KiB mention was stored, want it refused by the mentions stream's size limit")
	}
	if err := publish(names.Case("opened"), "big-case", 300<<10); err != nil {
		t.Fatalf("a 300 KiB case event (cases are bounded to about 400 KiB) was refused: %v", err)
	}
}

func TestADefaultNeverShrinksAStreamUnlessAskedTo(t *testing.T) {
	nc := bustest.Conn(t, bustest.Server(t))
	js, err := bus.NewJetStream(nc, bus.PublishAckTimeout)
	if err != nil {
		t.Fatal(err)
	}
	names := bus.Names{Prefix: "grow"}
	raised := bus.DefaultLimits[bus.NounMentions].MaxBytes + 1<<20
	ensure := func(opts bus.StreamOptions) int64 {
		t.Helper()
		if err := bus.EnsureStreams(context.Background(), js, names, opts); err != nil {
			t.Fatal(err)
		}
		return streamInfo(t, js, names.Stream(bus.NounMentions)).Config.MaxBytes
	}
	ensure(bus.StreamOptions{MaxBytes: map[string]int64{bus.NounMentions: raised}})
	var log bytes.Buffer
	if got := ensure(bus.StreamOptions{Logger: slog.New(slog.NewTextHandler(&log, nil))}); got != raised {
		t.Fatalf("a start with the default budget set mentions to %d bytes, want the raised %d kept", got, raised)
	}
	if !strings.Contains(log.String(), "--stream-scale-down") {
		t.Errorf("keeping the larger budget was not logged with what to do: %q", log.String())
	}
	if got := ensure(bus.StreamOptions{ScaleDown: true}); got != bus.DefaultLimits[bus.NounMentions].MaxBytes {
		t.Fatalf("--stream-scale-down left mentions at %d bytes, want the default", got)
	}
}

func TestAPublishWhoseAckNeverComesFailsAfterTheAckTimeout(t *testing.T) {
	nc := bustest.Conn(t, bustest.Server(t))
	// Something answers the subject, so NATS does not say "no responders",
	// but never acks: a stream leader lost mid-publish looks like this.
	sub, err := nc.SubscribeSync("silent.events")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	js, err := bus.NewJetStream(nc, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	tel := telemetrytest.New(t, "bus")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // only so a failure cannot hang the suite
	defer cancel()
	_, err = bus.NewPublisher(js, tel.Propagator, tel.Tracer).Publish(ctx, bus.Event{Subject: "silent.events", MsgID: "a", Data: []byte("x")})
	if !errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
		t.Fatalf("publish with no ack returned %v, want the ack timeout", err)
	}
}
