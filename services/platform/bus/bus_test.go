package bus_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/telemetry"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

type rig struct {
	js    jetstream.JetStream
	pub   *bus.Publisher
	names bus.Names
}

func newRig(t testing.TB) rig {
	t.Helper()
	nc := bustest.Conn(t, bustest.Server(t))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	names := bus.Names{Prefix: "fbt"}
	if err := bus.EnsureStreams(context.Background(), js, names, bus.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	// Idempotent: a second replica's start-up changes nothing.
	if err := bus.EnsureStreams(context.Background(), js, names, bus.StreamOptions{}); err != nil {
		t.Fatalf("second EnsureStreams: %v", err)
	}
	tel := telemetrytest.New(t, "bus")
	return rig{js: js, pub: bus.NewPublisher(js, tel.Propagator, tel.Tracer), names: names}
}

func (r rig) consume(t *testing.T, h bus.Handler) *bus.Consumer {
	t.Helper()
	return r.consumeWith(t, h, func(*bus.ConsumerConfig) {})
}

// consumeWith is consume with the configuration changed by configure.
func (r rig) consumeWith(t testing.TB, h bus.Handler, configure func(*bus.ConsumerConfig)) *bus.Consumer {
	t.Helper()
	return r.consumeOn(t, telemetrytest.New(t, "bus"), h, configure)
}

// consumeOn is consumeWith reporting to tel.
func (r rig) consumeOn(t testing.TB, tel *telemetry.Telemetry, h bus.Handler, configure func(*bus.ConsumerConfig)) *bus.Consumer {
	t.Helper()
	cfg := bus.ConsumerConfig{
		Service: "test", Purpose: "mentions", Stream: r.names.Stream(bus.NounMentions),
		Subjects: []string{r.names.Scored()}, MaxDeliver: 3, MaxInFlight: 4,
		AckWait: 5 * time.Second, RetryBase: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		DeadLetter: r.names.DeadLetter("scorer"), Handler: h,
	}
	configure(&cfg)
	c, err := bus.NewConsumer(context.Background(), r.js, r.pub, tel, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

func (r rig) publish(t *testing.T, id, text string) {
	t.Helper()
	_, err := r.pub.Publish(context.Background(), bus.Event{Subject: r.names.Scored(), MsgID: bus.MsgID(id, "scored"), Type: "scored", Message: wrapperspb.String(text)})
	if err != nil {
		t.Fatal(err)
	}
}

// acked waits until the server holds an ack for everything delivered to
// the test's consumer for purpose.
func (r rig) acked(t *testing.T, purpose string) {
	t.Helper()
	testkit.Eventually(t, "the consumer to have acked everything", func() bool {
		c, err := r.js.Consumer(context.Background(), r.names.Stream(bus.NounMentions), bus.Durable("test", purpose))
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Stream == info.Delivered.Stream
	})
}

// pulled waits until the test's consumer for purpose holds n messages
// unacked: a batch handler that waits has them all pulled.
func (r rig) pulled(t *testing.T, purpose string, n int) {
	t.Helper()
	testkit.Eventually(t, "every message pulled while the first batch waits", func() bool {
		c, err := r.js.Consumer(context.Background(), r.names.Stream(bus.NounMentions), bus.Durable("test", purpose))
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumAckPending == n
	})
}

func (r rig) deadLetters(t *testing.T, want int) []jetstream.Msg {
	t.Helper()
	cons, err := r.js.OrderedConsumer(context.Background(), r.names.DeadLetterStream("scorer"), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(want, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	return msgs
}

func TestRetryableErrorIsRedeliveredUntilSuccess(t *testing.T) {
	r := newRig(t)
	var calls atomic.Int32
	r.consume(t, func(ctx context.Context, msg jetstream.Msg) error {
		if calls.Add(1) < 3 {
			return errors.New("redis busy")
		}
		return nil
	})
	r.publish(t, "m1", "hello")
	testkit.Eventually(t, "third delivery", func() bool { return calls.Load() == 3 })
	// Once the server holds the ack nothing further can arrive.
	r.acked(t, "mentions")
	if got := calls.Load(); got != 3 {
		t.Fatalf("handler called %d times, want 3", got)
	}
}

func TestDuplicatePublishIsStoredOnce(t *testing.T) {
	r := newRig(t)
	var mu sync.Mutex
	seen := map[string]int{}
	r.consume(t, func(ctx context.Context, msg jetstream.Msg) error {
		var s wrapperspb.StringValue
		if err := bus.Decode(msg, &s); err != nil {
			return err
		}
		mu.Lock()
		seen[s.Value]++
		mu.Unlock()
		return nil
	})
	r.publish(t, "same", "a")
	r.publish(t, "same", "a")
	r.publish(t, "other", "b")
	testkit.Eventually(t, "both messages", func() bool { mu.Lock(); defer mu.Unlock(); return seen["b"] == 1 && seen["a"] >= 1 })
	mu.Lock()
	defer mu.Unlock()
	if seen["a"] != 1 {
		t.Fatalf("message with a repeated id handled %d times, want 1", seen["a"])
	}
}

func TestPermanentErrorDeadLettersWithReason(t *testing.T) {
	r := newRig(t)
	var calls atomic.Int32
	r.consume(t, func(ctx context.Context, msg jetstream.Msg) error {
		calls.Add(1)
		return bus.Permanent(errors.New("mention has no author"))
	})
	r.publish(t, "bad", "x")
	dead := r.deadLetters(t, 1)
	if len(dead) != 1 {
		t.Fatalf("got %d dead letters, want 1", len(dead))
	}
	if got := dead[0].Headers().Get(bus.HeaderDeadReason); got != "mention has no author" {
		t.Errorf("reason header = %q", got)
	}
	if got := dead[0].Headers().Get(bus.HeaderDeadSubject); got != r.names.Scored() {
		t.Errorf("subject header = %q", got)
	}
	if calls.Load() != 1 {
		t.Errorf("permanent error retried: %d calls", calls.Load())
	}
}

func TestPanicIsRetriedThenDeadLetteredAfterMaxDeliver(t *testing.T) {
	r := newRig(t)
	var calls atomic.Int32
	r.consume(t, func(ctx context.Context, msg jetstream.Msg) error {
		calls.Add(1)
		panic("boom")
	})
	r.publish(t, "panics", "x")
	dead := r.deadLetters(t, 1)
	if len(dead) != 1 {
		t.Fatalf("got %d dead letters, want 1", len(dead))
	}
	if got := dead[0].Headers().Get(bus.HeaderDeadCount); got != "3" {
		t.Errorf("deliveries header = %q, want 3", got)
	}
	if calls.Load() != 3 {
		t.Errorf("handler called %d times, want MaxDeliver=3", calls.Load())
	}
}

// deadLettered is how many messages the dead-letter stream holds.
func (r rig) deadLettered(t *testing.T) uint64 {
	t.Helper()
	st, err := r.js.Stream(context.Background(), r.names.DeadLetterStream("scorer"))
	if err != nil {
		t.Fatal(err)
	}
	return st.CachedInfo().State.Msgs
}

func TestOutageIsWaitedOutNotDeadLettered(t *testing.T) {
	r := newRig(t)
	var down atomic.Bool
	down.Store(true)
	var calls atomic.Int32
	r.consumeWith(t, func(ctx context.Context, msg jetstream.Msg) error {
		calls.Add(1)
		if down.Load() {
			return errors.New("redis: connection refused")
		}
		return nil
	}, func(c *bus.ConsumerConfig) {
		c.Ready = func(context.Context) error {
			if down.Load() {
				return errors.New("Redis is down")
			}
			return nil
		}
	})
	r.publish(t, "during-outage", "x")
	// Twice MaxDeliver tries fail while Redis is down...
	testkit.Eventually(t, "tries past MaxDeliver", func() bool { return calls.Load() >= 6 })
	if n := r.deadLettered(t); n != 0 {
		t.Fatalf("%d dead letters during the outage, want none", n)
	}
	// ...and the message is handled once it is back.
	down.Store(false)
	handled := calls.Load()
	testkit.Eventually(t, "the try after the outage", func() bool { return calls.Load() > handled })
	if n := r.deadLettered(t); n != 0 {
		t.Fatalf("%d dead letters after the outage, want none", n)
	}
}

// A publish the broker cannot take (no stream answers: a leader election,
// a lost node, a full stream) is the bus's outage, not a bad message: it is
// retried past MaxDeliver, never dead-lettered.
func TestPublishTheBusRefusesIsWaitedOutNotDeadLettered(t *testing.T) {
	r := newRig(t)
	var down atomic.Bool
	down.Store(true)
	var calls atomic.Int32
	r.consume(t, func(ctx context.Context, msg jetstream.Msg) error {
		calls.Add(1)
		subject := r.names.Reached()
		if down.Load() {
			subject = "nowhere.reached" // no stream takes it
		}
		_, err := r.pub.Publish(ctx, bus.Event{Subject: subject, MsgID: bus.MsgID(msg.Subject(), "reached"), Data: msg.Data()})
		if err != nil {
			return fmt.Errorf("publish the reach: %w", err)
		}
		return nil
	})
	r.waitedOut(t, "bus-down", &calls, &down, "while the bus refused the publish", "after the bus took the publish")
}

// waitedOut publishes a message that fails while down is set and checks
// it was tried past MaxDeliver with no dead letter, then acked once down
// clears, still with none.
func (r rig) waitedOut(t *testing.T, id string, calls *atomic.Int32, down *atomic.Bool, during, after string) {
	t.Helper()
	r.publish(t, id, "x")
	testkit.Eventually(t, "tries past MaxDeliver", func() bool { return calls.Load() >= 6 })
	if n := r.deadLettered(t); n != 0 {
		t.Fatalf("%d dead letters %s, want none", n, during)
	}
	down.Store(false)
	r.acked(t, "mentions")
	if n := r.deadLettered(t); n != 0 {
		t.Fatalf("%d dead letters %s, want none", n, after)
	}
}

// clusterDown is the error a Redis Cluster answers while it re-forms.
type clusterDown struct{}

func (clusterDown) Error() string { return "CLUSTERDOWN The cluster is down" }
func (clusterDown) RedisError()   {}

// A Redis Cluster re-forming after a restart answers CLUSTERDOWN while the
// readiness check, answered by a node that is up, passes: the error itself
// is the outage, waited out past MaxDeliver, never dead-lettered.
func TestRedisClusterDownIsWaitedOutNotDeadLettered(t *testing.T) {
	r := newRig(t)
	var down atomic.Bool
	down.Store(true)
	var calls atomic.Int32
	r.consumeWith(t, func(ctx context.Context, msg jetstream.Msg) error {
		calls.Add(1)
		if down.Load() {
			return fmt.Errorf("save the case: %w", clusterDown{})
		}
		return nil
	}, func(c *bus.ConsumerConfig) {
		c.Ready = func(context.Context) error { return nil }
	})
	r.waitedOut(t, "cluster-down", &calls, &down, "while the cluster was down", "after the cluster came back")
}

func TestMessageWhoseDeadLetterCannotBePublishedIsKept(t *testing.T) {
	r := newRig(t)
	var calls atomic.Int32
	r.consumeWith(t, func(ctx context.Context, msg jetstream.Msg) error {
		calls.Add(1)
		return bus.Permanent(errors.New("mention has no author"))
	}, func(c *bus.ConsumerConfig) {
		c.DeadLetter = "nowhere.deadletter" // no stream takes it: the publish fails
	})
	r.publish(t, "undeliverable", "x")
	// Each failed dead letter sends the message back; the broker keeps
	// delivering it past MaxDeliver instead of dropping it.
	testkit.Eventually(t, "deliveries past MaxDeliver", func() bool { return calls.Load() > 4 })
}

func TestStopWaitsForInFlightWork(t *testing.T) {
	r := newRig(t)
	release := make(chan struct{})
	var started, finished atomic.Int32
	c := r.consume(t, func(ctx context.Context, msg jetstream.Msg) error {
		started.Add(1)
		<-release
		finished.Add(1)
		return nil
	})
	r.publish(t, "slow", "x")
	testkit.Eventually(t, "handler start", func() bool { return started.Load() == 1 })
	stopped := make(chan error)
	go func() { stopped <- c.Stop(context.Background()) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a message was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if finished.Load() != 1 {
		t.Fatal("in-flight message did not finish")
	}
}

func TestTraceContextTravelsInLowercaseHeaders(t *testing.T) {
	r := newRig(t)
	tel := telemetrytest.New(t, "bus")
	ctx, span := tel.Tracer.Tracer("test").Start(context.Background(), "publish")
	sent := span.SpanContext().TraceID()
	if _, err := r.pub.Publish(ctx, bus.Event{Subject: r.names.Scored(), MsgID: "traced:scored", Message: wrapperspb.String("x")}); err != nil {
		t.Fatal(err)
	}
	span.End()
	got := make(chan jetstream.Msg, 1)
	seen := make(chan string, 1)
	r.consume(t, func(ctx context.Context, msg jetstream.Msg) error {
		got <- msg
		seen <- trace.SpanContextFromContext(ctx).TraceID().String()
		return nil
	})
	msg := <-got
	if msg.Headers().Get("traceparent") == "" || len(msg.Headers()["Traceparent"]) != 0 {
		t.Fatalf("headers %v: want lowercase traceparent", msg.Headers())
	}
	if id := <-seen; id != sent.String() {
		t.Fatalf("handler saw trace %s, publisher sent %s", id, sent)
	}
}

func TestRetryAfterDelaysTheRedelivery(t *testing.T) {
	r := newRig(t)
	var times []time.Time
	var mu sync.Mutex
	r.consume(t, func(ctx context.Context, msg jetstream.Msg) error {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		if len(times) == 1 {
			return bus.RetryAfter(errors.New("someone else holds it"), 300*time.Millisecond)
		}
		return nil
	})
	r.publish(t, "later", "x")
	testkit.Eventually(t, "the redelivery", func() bool { mu.Lock(); defer mu.Unlock(); return len(times) == 2 })
	mu.Lock()
	defer mu.Unlock()
	if gap := times[1].Sub(times[0]); gap < 250*time.Millisecond {
		t.Fatalf("redelivered after %s, want about 300ms (the usual backoff here is 10-20ms)", gap)
	}
}

func TestSlowHandlerIsNotRedeliveredWhileItWorks(t *testing.T) {
	r := newRig(t)
	var calls atomic.Int32
	c, err := bus.NewConsumer(context.Background(), r.js, r.pub, telemetrytest.New(t, "bus"), bus.ConsumerConfig{
		Service: "test", Purpose: "slow", Stream: r.names.Stream(bus.NounMentions),
		Subjects: []string{r.names.Scored()}, MaxInFlight: 4, AckWait: 300 * time.Millisecond,
		DeadLetter: r.names.DeadLetter("scorer"),
		Handler: func(ctx context.Context, msg jetstream.Msg) error {
			calls.Add(1)
			// Working for three AckWaits is the behaviour under test, and
			// AckWait runs on the NATS server's clock, which no injected
			// clock reaches.
			time.Sleep(time.Second)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.publish(t, "slow", "x")
	testkit.Eventually(t, "the handler to start", func() bool { return calls.Load() == 1 })
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Fatalf("a message still being handled was redelivered: %d calls", calls.Load())
	}
}

func TestConsumerWhoseIteratorClosesIsRecreated(t *testing.T) {
	r := newRig(t)
	var handled, after atomic.Int32
	c := r.consume(t, func(ctx context.Context, msg jetstream.Msg) error {
		handled.Add(1)
		if msg.Headers().Get("Nats-Msg-Id") == bus.MsgID("m-after", "scored") {
			after.Add(1)
		}
		return nil
	})
	ctx := context.Background()
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("a pulling consumer is not ready: %v", err)
	}
	// A handled message shows the pull requests are out, so the server
	// tells the iterator of the deletion at once.
	r.publish(t, "m-before", "hello")
	testkit.Eventually(t, "the first message to be handled", func() bool { return handled.Load() == 1 })
	// Deleting the durable consumer closes its iterator under the loop.
	stream := r.names.Stream(bus.NounMentions)
	if err := r.js.DeleteConsumer(ctx, stream, bus.Durable("test", "mentions")); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the durable consumer to be re-created", func() bool {
		_, err := r.js.Consumer(ctx, stream, bus.Durable("test", "mentions"))
		return err == nil
	})
	r.publish(t, "m-after", "hello again")
	testkit.Eventually(t, "a message published after the re-creation to be handled", func() bool { return after.Load() == 1 })
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("the re-created consumer is not ready: %v", err)
	}
}

// TestBatchSettlesEachMessageByItsOwnOutcome: messages that queue while a
// batch is handled come in the next batch together, and each is acked,
// retried or dead-lettered by its own answer.
func TestBatchSettlesEachMessageByItsOwnOutcome(t *testing.T) {
	r := newRig(t)
	const n = 16
	release := make(chan struct{})
	var mu sync.Mutex
	handled := map[string]int{}
	largest, flaky := 0, 0
	r.consumeWith(t, nil, func(c *bus.ConsumerConfig) {
		c.MaxInFlight, c.BatchWorkers = n, 1
		c.Batch = func(ctx context.Context, msgs []jetstream.Msg) []error {
			<-release
			mu.Lock()
			defer mu.Unlock()
			largest = max(largest, len(msgs))
			errs := make([]error, len(msgs))
			for i, msg := range msgs {
				var text wrapperspb.StringValue
				if err := bus.Decode(msg, &text); err != nil {
					errs[i] = err
					continue
				}
				switch text.Value {
				case "bad":
					errs[i] = bus.Permanent(errors.New("unreadable"))
				case "flaky":
					if flaky++; flaky == 1 {
						errs[i] = errors.New("redis busy")
						continue
					}
					handled[text.Value]++
				default:
					handled[text.Value]++
				}
			}
			return errs
		}
	})
	for i := range n - 2 {
		r.publish(t, fmt.Sprint("m", i), fmt.Sprint("good-", i))
	}
	r.publish(t, "bad", "bad")
	r.publish(t, "flaky", "flaky")
	r.pulled(t, "mentions", n)
	close(release)
	r.acked(t, "mentions")
	if dl := r.deadLetters(t, 1); len(dl) != 1 {
		t.Fatalf("dead letters: %d, want the bad message's", len(dl))
	}
	mu.Lock()
	defer mu.Unlock()
	if largest < 2 {
		t.Errorf("largest batch %d: messages that queued were handled one by one", largest)
	}
	for i := range n - 2 {
		if got := handled[fmt.Sprint("good-", i)]; got != 1 {
			t.Errorf("good-%d handled %d times, want once", i, got)
		}
	}
	if handled["flaky"] != 1 || flaky != 2 {
		t.Errorf("flaky handled %d times in %d tries, want once after one retry", handled["flaky"], flaky)
	}
}

// Every settled message is counted by consumer and outcome, whether it
// came alone or in a batch, and every batch by its size.
func TestSettledMessagesAreCountedByOutcome(t *testing.T) {
	r := newRig(t)
	tel := telemetrytest.New(t, "bus")
	var calls atomic.Int32
	r.consumeOn(t, tel, nil, func(cfg *bus.ConsumerConfig) {
		cfg.MaxDeliver = 5
		cfg.Batch = func(ctx context.Context, msgs []jetstream.Msg) []error {
			errs := make([]error, len(msgs))
			for i := range msgs {
				if calls.Add(1) < 3 {
					errs[i] = errors.New("redis busy")
				}
			}
			return errs
		}
	})
	r.publish(t, "m1", "hello")
	r.acked(t, "mentions")
	wants := []string{
		`firebreak_messages_processed_total{consumer="test-mentions",outcome="retry"} 2`,
		`firebreak_messages_processed_total{consumer="test-mentions",outcome="ack"} 1`,
		`firebreak_message_handle_duration_seconds_count{consumer="test-mentions",outcome="ack"} 1`,
		// One message, handled three times: three batches of one.
		`firebreak_message_batch_size_count{consumer="test-mentions"} 3`,
		`firebreak_message_batch_size_sum{consumer="test-mentions"} 3`,
	}
	var body string
	// The count follows the ack by a moment.
	counted := testkit.Within(testkit.Deadline, func() bool {
		rec := httptest.NewRecorder()
		tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		body = rec.Body.String()
		for _, want := range wants {
			if !strings.Contains(body, want) {
				return false
			}
		}
		return true
	})
	if !counted {
		t.Fatalf("metrics lack one of %q:\n%s", wants, grepLines(body, "firebreak_message"))
	}
}

// grepLines is the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
