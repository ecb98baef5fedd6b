package bus_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

func TestOnePartitionIsTodaysLayout(t *testing.T) {
	t.Parallel()
	for _, n := range []bus.Names{{Prefix: "firebreak"}, {Prefix: "firebreak", Partitions: 1}} {
		if got := n.MentionStreams(); !slices.Equal(got, []string{"FIREBREAK_MENTIONS"}) {
			t.Errorf("partitions %d: mention streams %v, want FIREBREAK_MENTIONS", n.Partitions, got)
		}
		for _, subject := range []string{n.Ingested("x"), n.Scored(), n.Reached(), n.Spread(), n.IngestedAll()} {
			if got := n.InPartition(subject, n.MentionPartition("acme/x/u1")); got != subject {
				t.Errorf("partitions %d: %s in its partition is %s, want it unchanged", n.Partitions, subject, got)
			}
		}
		p1, err1 := n.Permissions("scorer")
		p0, err0 := bus.Names{Prefix: "firebreak"}.Permissions("scorer")
		if err0 != nil || err1 != nil || !slices.Equal(p1.Publish, p0.Publish) {
			t.Errorf("partitions %d: scorer's permissions %v, want today's %v", n.Partitions, p1.Publish, p0.Publish)
		}
	}
}

func TestPartitionedSubjectsCarryTheirPartition(t *testing.T) {
	t.Parallel()
	n := bus.Names{Prefix: "firebreak", Partitions: 4}
	tests := []struct{ subject, want string }{
		{n.Ingested("x"), "firebreak.mentions.ingested.x.p2"},
		{n.Updated("mastodon"), "firebreak.mentions.updated.mastodon.p2"},
		{n.Scored(), "firebreak.mentions.scored.p2"},
		{n.Spread(), "firebreak.mentions.spread.p2"},
		{n.IngestedAll(), "firebreak.mentions.ingested.*.p2"},
	}
	for _, tt := range tests {
		got := n.InPartition(tt.subject, 2)
		if got != tt.want {
			t.Errorf("InPartition(%s, 2) = %s, want %s", tt.subject, got, tt.want)
		}
		if !strings.Contains(tt.subject, ">") {
			if p := n.PartitionOf(got); p != 2 {
				t.Errorf("PartitionOf(%s) = %d, want 2", got, p)
			}
			if u := n.Unpartitioned(got); u != tt.subject {
				t.Errorf("Unpartitioned(%s) = %s, want %s", got, u, tt.subject)
			}
		}
	}
	if got := n.InPartitionOf(n.Reached(), "firebreak.mentions.ingested.x.p3"); got != "firebreak.mentions.reached.p3" {
		t.Errorf("reached after ingested.x.p3 = %s, want firebreak.mentions.reached.p3", got)
	}
	if got := n.MentionStreams(); !slices.Equal(got, []string{"FIREBREAK_MENTIONS", "FIREBREAK_MENTIONS_P1", "FIREBREAK_MENTIONS_P2", "FIREBREAK_MENTIONS_P3"}) {
		t.Errorf("mention streams %v", got)
	}
	// Stable: the same author, the same partition, in every process.
	if a, b := n.MentionPartition("acme/x/u1"), n.MentionPartition("acme/x/u1"); a != b || a < 0 || a > 3 {
		t.Errorf("partitions of one author: %d and %d", a, b)
	}
}

// partitioned is a harness connection's JetStream with streams for names.
func partitioned(t *testing.T, names bus.Names) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(bustest.Conn(t, bustest.Server(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureStreams(context.Background(), js, names, bus.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	return js
}

func TestPartitionStreamsRecordTheirLayoutAndShareTheBudget(t *testing.T) {
	t.Parallel()
	names := bus.Names{Prefix: "fbp", Partitions: 4}
	js := partitioned(t, names)
	// Idempotent, as every escalation replica runs it.
	if err := bus.EnsureStreams(context.Background(), js, names, bus.StreamOptions{}); err != nil {
		t.Fatalf("second EnsureStreams: %v", err)
	}
	for p, name := range []string{"FBP_MENTIONS", "FBP_MENTIONS_P1", "FBP_MENTIONS_P2", "FBP_MENTIONS_P3"} {
		st, err := js.Stream(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		cfg := st.CachedInfo().Config
		if cfg.Metadata[bus.MetaPartitions] != "4" || cfg.Metadata[bus.MetaPartition] != fmt.Sprint(p) {
			t.Errorf("partition %d's metadata %v", p, cfg.Metadata)
		}
		if cfg.MaxBytes != bus.DefaultLimits[bus.NounMentions].MaxBytes/4 {
			t.Errorf("partition %d's budget %d, want a quarter of the mentions'", p, cfg.MaxBytes)
		}
	}
	// A subject lands in its partition's stream alone.
	if _, err := js.Publish(context.Background(), "fbp.mentions.scored.p2", []byte("x")); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(context.Background(), "FBP_MENTIONS_P2")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := st.Info(context.Background()); err != nil || info.State.Msgs != 1 {
		t.Fatalf("partition 2 holds %+v (%v), want the one message", info.State, err)
	}
}

func TestAnotherPartitionCountRefusesToStart(t *testing.T) {
	t.Parallel()
	js := partitioned(t, bus.Names{Prefix: "fbp", Partitions: 4})
	if err := bus.EnsureStreams(context.Background(), js, bus.Names{Prefix: "fbq"}, bus.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tests := []struct {
		names bus.Names
		want  string
	}{
		{bus.Names{Prefix: "fbp"}, "in 4 partition(s) (stream FBP_MENTIONS) and this service has --mention-partitions=1"},
		{bus.Names{Prefix: "fbp", Partitions: 2}, "in 4 partition(s) (stream FBP_MENTIONS) and this service has --mention-partitions=2"},
		{bus.Names{Prefix: "fbq", Partitions: 4}, "in 1 partition(s) (stream FBQ_MENTIONS) and this service has --mention-partitions=4"},
	}
	for _, tt := range tests {
		// The stream owner refuses to create or change the streams, and
		// every other service refuses to wait for them.
		for what, err := range map[string]error{
			"EnsureStreams": bus.EnsureStreams(ctx, js, tt.names, bus.StreamOptions{}),
			"AwaitStreams":  bus.AwaitStreams(ctx, js, tt.names, telemetrytest.New(t, "bus").Logger),
		} {
			if !errors.Is(err, bus.ErrPartitionMismatch) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s with prefix %s and %d partitions: %v, want a mismatch saying %q", what, tt.names.Prefix, tt.names.Partitions, err, tt.want)
			}
		}
	}
	if err := bus.AwaitStreams(ctx, js, bus.Names{Prefix: "fbp", Partitions: 4}, telemetrytest.New(t, "bus").Logger); err != nil {
		t.Errorf("AwaitStreams with the streams' own count: %v", err)
	}
}

// TestPartitionedConsumersTakeEveryAuthorInOrderOnce publishes ten
// mentions each from many authors to their partitions, and consumes them
// with one consumer per partition: every message is handled once, each
// author's messages are in one partition's stream in the order sent, and
// every partition takes a share.
func TestPartitionedConsumersTakeEveryAuthorInOrderOnce(t *testing.T) {
	t.Parallel()
	names := bus.Names{Prefix: "fbp", Partitions: 4}
	js := partitioned(t, names)
	tel := telemetrytest.New(t, "bus")
	pub := bus.NewPublisher(js, tel.Propagator, tel.Tracer)
	type seen struct {
		stream string
		seq    uint64
		times  int
	}
	var mu sync.Mutex
	handled := map[string]*seen{} // by message id
	consumers, err := bus.NewMentionConsumers(context.Background(), js, pub, tel, names, bus.ConsumerConfig{
		Service: "test", Purpose: "partitions", Subjects: []string{names.Scored()}, MaxInFlight: 16,
		DeadLetter: names.DeadLetter("test"),
		Batch: func(_ context.Context, msgs []jetstream.Msg) []error {
			mu.Lock()
			defer mu.Unlock()
			for _, msg := range msgs {
				meta, err := msg.Metadata()
				if err != nil {
					t.Error(err)
					continue
				}
				id := msg.Headers().Get(bus.HeaderMentionID)
				if handled[id] == nil {
					handled[id] = &seen{stream: meta.Stream, seq: meta.Sequence.Stream}
				}
				handled[id].times++
			}
			return make([]error, len(msgs))
		},
	})
	started(t, consumers, err)

	const authors, each = 60, 10
	for i := range each {
		var events []bus.Event
		for a := range authors {
			author := fmt.Sprintf("acme/x/u%d", a)
			events = append(events, scoredIn(names, author, fmt.Sprintf("%s#%d", author, i)))
		}
		if _, err := pub.Publish(context.Background(), events...); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, "every mention handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(handled) == authors*each
	})
	if err := consumers.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	perStream := map[string]int{}
	for a := range authors {
		author := fmt.Sprintf("acme/x/u%d", a)
		want := names.MentionStream(names.MentionPartition(author))
		var last uint64
		for i := range each {
			s := handled[fmt.Sprintf("%s#%d", author, i)]
			if s.times != 1 {
				t.Errorf("%s#%d handled %d times, want once", author, i, s.times)
			}
			if s.stream != want || s.seq <= last {
				t.Errorf("%s#%d at %s seq %d after seq %d, want %s in the order sent", author, i, s.stream, s.seq, last, want)
			}
			last = s.seq
			perStream[s.stream]++
		}
	}
	if len(perStream) != 4 {
		t.Errorf("mentions by stream %v, want all four partitions used", perStream)
	}
}

// scoredIn is mention id's score event, in author's partition.
func scoredIn(names bus.Names, author, id string) bus.Event {
	return bus.Event{
		Subject: names.InPartition(names.Scored(), names.MentionPartition(author)),
		MsgID:   bus.MsgID(id, bus.EventScored), Type: bus.TypeMentionScored,
		Headers: map[string]string{bus.HeaderMentionID: id}, Message: wrapperspb.String(id),
	}
}

// started starts consumers made without error, and stops them at the end.
func started(t *testing.T, consumers *bus.MentionConsumers, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if err := consumers.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = consumers.Stop(context.Background()) })
}

// A service's partitions share their batches: what the partitions pulled
// while the batch worker was busy is handled in one batch, as one stream's
// would be, not in a batch per partition.
func TestPartitionsShareTheirBatches(t *testing.T) {
	t.Parallel()
	names := bus.Names{Prefix: "fbp", Partitions: 4}
	js := partitioned(t, names)
	tel := telemetrytest.New(t, "bus")
	pub := bus.NewPublisher(js, tel.Propagator, tel.Tracer)
	gate := make(chan struct{})
	var mu sync.Mutex
	var batches []map[string]int // messages by stream, per batch
	handled := map[string]int{}
	consumers, err := bus.NewMentionConsumers(context.Background(), js, pub, tel, names, bus.ConsumerConfig{
		Service: "test", Purpose: "shared", Subjects: []string{names.Scored()}, MaxInFlight: 64, BatchWorkers: 1,
		DeadLetter: names.DeadLetter("test"),
		Batch: func(_ context.Context, msgs []jetstream.Msg) []error {
			<-gate
			mu.Lock()
			defer mu.Unlock()
			streams := map[string]int{}
			for _, msg := range msgs {
				meta, err := msg.Metadata()
				if err != nil {
					t.Error(err)
					continue
				}
				streams[meta.Stream]++
				handled[msg.Headers().Get(bus.HeaderMentionID)]++
			}
			batches = append(batches, streams)
			return make([]error, len(msgs))
		},
	})
	started(t, consumers, err)

	const n = 40
	var events []bus.Event
	for a := range n {
		author := fmt.Sprintf("acme/x/u%d", a)
		events = append(events, scoredIn(names, author, author))
	}
	if _, err := pub.Publish(context.Background(), events...); err != nil {
		t.Fatal(err)
	}
	// While the one worker waits at the gate, every partition's messages
	// are pulled and queue for the next batch.
	testkit.Eventually(t, "every message pulled", func() bool {
		pending := 0
		for _, stream := range names.MentionStreams() {
			c, err := js.Consumer(context.Background(), stream, bus.Durable("test", "shared"))
			if err != nil {
				return false
			}
			info, err := c.Info(context.Background())
			if err != nil {
				return false
			}
			pending += info.NumAckPending
		}
		return pending == n
	})
	close(gate)
	testkit.Eventually(t, "every message handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(handled) == n
	})
	mu.Lock()
	defer mu.Unlock()
	mixed := slices.ContainsFunc(batches, func(streams map[string]int) bool { return len(streams) > 1 })
	if !mixed || len(batches) > 4 {
		t.Fatalf("batches by stream %v: want the partitions' queued messages handled together, in few batches", batches)
	}
	for id, times := range handled {
		if times != 1 {
			t.Errorf("%s handled %d times, want once", id, times)
		}
	}
}

// TestPartitionedServicesUseEveryPartitionUnderTheirOwnUsers: with the
// users' permissions made for four partitions, the stream owner keeps the
// streams, each consuming service pulls from every partition, and the
// publishers reach every partition but not a subject without one.
func TestPartitionedServicesUseEveryPartitionUnderTheirOwnUsers(t *testing.T) {
	t.Parallel()
	names := bus.Names{Prefix: bustest.Prefix, Partitions: 4}
	srv := bustest.ServerPartitioned(t, 4)
	jsOf := func(service string) jetstream.JetStream {
		js, err := jetstream.New(bustest.ConnAs(t, srv, service))
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	if err := bus.EnsureStreams(context.Background(), jsOf(bus.StreamOwner), names, bus.StreamOptions{}); err != nil {
		t.Fatalf("the stream owner keeping four partitions: %v", err)
	}
	for _, use := range []struct {
		service, purpose string
		subjects         []string
	}{
		{"scorer", "mentions", []string{names.IngestedAll()}},
		{"reach", "mentions", []string{names.IngestedAll(), names.UpdatedAll()}},
		{"escalation", "join", []string{names.Scored(), names.Reached(), names.Spread()}},
	} {
		service := use.service
		tel := telemetrytest.New(t, service)
		js := jsOf(service)
		c, err := bus.NewMentionConsumers(context.Background(), js, bus.NewPublisher(js, tel.Propagator, tel.Tracer), tel, names, bus.ConsumerConfig{
			Service: service, Purpose: use.purpose, Subjects: use.subjects,
			DeadLetter: names.DeadLetter(service), Handler: func(context.Context, jetstream.Msg) error { return nil },
		})
		if err != nil {
			t.Fatalf("%s's consumers on four partitions: %v", service, err)
		}
		if err := c.Start(context.Background()); err != nil {
			t.Fatalf("%s pulling from four partitions: %v", service, err)
		}
		if err := c.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for service, subject := range map[string]string{"ingest": names.Ingested("x"), "scorer": names.Scored(), "reach": names.Spread()} {
		js := jsOf(service)
		for p := range 4 {
			if _, err := js.Publish(context.Background(), names.InPartition(subject, p), []byte("m")); err != nil {
				t.Fatalf("%s publishing to partition %d: %v", service, p, err)
			}
		}
		nc := bustest.ConnAs(t, srv, service)
		_ = nc.Publish(names.Reached()+".p9.x", []byte("forged"))
		refused(t, nc, service+" publishing outside the partitions", names.Reached()+".p9.x")
	}
}

func TestSubjectMatchesAsNATSDoes(t *testing.T) {
	for _, c := range []struct {
		filter, subject string
		want            bool
	}{
		{"fb.mentions.>", "fb.mentions.ingested.x", true},
		{"fb.mentions.>", "fb.mentions", false},
		{"fb.mentions.*.x", "fb.mentions.ingested.x", true},
		{"fb.mentions.*.x", "fb.mentions.ingested.x.p2", false},
		{"fb.mentions.*", "fb.mentions.ingested.x", false},
		{"fb.cases.opened", "fb.cases.opened", true},
		{"fb.cases.opened", "fb.cases.closed", false},
	} {
		if got := bus.SubjectMatches(c.filter, c.subject); got != c.want {
			t.Errorf("SubjectMatches(%q, %q) = %v, want %v", c.filter, c.subject, got, c.want)
		}
	}
}
