package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/firebreak/firebreak/services/platform/backoff"
	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/telemetry"
)

// Handler processes one message. Returning nil acks it; an error naks it for
// redelivery with backoff, unless it is Permanent, which dead-letters it.
type Handler func(ctx context.Context, msg jetstream.Msg) error

// BatchHandler processes messages pulled together and returns one error per
// message, in order (nil acks it; see Handler). It lets a handler share
// round trips across messages: one Redis pipeline, one publish.
type BatchHandler func(ctx context.Context, msgs []jetstream.Msg) []error

// permanentError marks an error that no retry can fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying: the message goes straight to the
// dead-letter subject with err as its reason.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool { return errors.As(err, new(permanentError)) }

// retryAfterError asks for a redelivery after a given delay.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e retryAfterError) Error() string { return e.err.Error() }
func (e retryAfterError) Unwrap() error { return e.err }

// RetryAfter marks err as worth retrying after d rather than after the usual
// backoff, for a handler that knows when its obstacle goes away (another
// replica's claim expiring, a receiver's Retry-After).
func RetryAfter(err error, d time.Duration) error { return retryAfterError{err, d} }

// Decode unmarshals a message's payload; a payload that does not decode is a
// permanent error.
func Decode(msg jetstream.Msg, into proto.Message) error {
	if err := proto.Unmarshal(msg.Data(), into); err != nil {
		return Permanent(fmt.Errorf("decode %s on %s: %w", into.ProtoReflect().Descriptor().Name(), msg.Subject(), err))
	}
	return nil
}

// ConsumerConfig describes one durable pull consumer and its loop.
type ConsumerConfig struct {
	Service string
	Purpose string
	Stream  string
	// Subjects filter the stream; a message matching any is delivered.
	Subjects []string
	// MaxInFlight bounds messages being handled at once (back-pressure).
	MaxInFlight int
	// MaxDeliver is how many times a message is tried before dead-lettering,
	// counting only tries while Ready says the dependencies are up.
	MaxDeliver int
	// Ready, when set, says whether the service's dependencies (Redis,
	// NATS) are usable. While it fails, a failing message is an outage's
	// casualty, not a bad message: it is retried, backing off up to
	// RetryMax, for as long as the outage lasts, and never dead-lettered
	// for it.
	Ready func(ctx context.Context) error
	// AckWait is how long JetStream waits for an ack before redelivering.
	// From the moment a message is pulled until it is settled the
	// consumer tells JetStream it is still at work every third of it
	// (InProgress), so a queued or slow message is not redelivered; one
	// on a process that died is, after AckWait. It is therefore how late
	// a message in flight on a SIGKILLed replica comes (default 30s; see
	// MentionAckWait).
	AckWait time.Duration
	// MaxHandle bounds one handling, keep-alives included (default 10 x
	// AckWait, at least 5 minutes).
	// RetryBase and RetryMax bound the exponential nak delay.
	RetryBase, RetryMax time.Duration
	MaxHandle           time.Duration
	// DeadLetter is the subject of messages given up on.
	DeadLetter string
	Handler    Handler
	// Batch, when set, handles messages instead of Handler, in batches of
	// what has been pulled and not yet handled, up to MaxBatch: a batch
	// never waits for more messages to come, so under light load a batch
	// is one message and under heavy load batches grow. At most
	// BatchWorkers batches are handled at once (default 4); while they
	// are, pulled messages queue for the next batch.
	Batch        BatchHandler
	MaxBatch     int
	BatchWorkers int
	// OnFailure, when set, hears of every failure Failing counts, so
	// that the service can tell the others (trouble.Board.Note). It must
	// not block.
	OnFailure func()
}

func (c *ConsumerConfig) defaults() {
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 64
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 500 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = time.Minute
	}
	if c.MaxHandle <= 0 {
		// Not tied to a short AckWait: keep-alives hold a slow handling.
		c.MaxHandle = max(10*c.AckWait, 5*time.Minute)
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 64
	}
	if c.BatchWorkers <= 0 {
		c.BatchWorkers = 4
	}
}

// Consumer runs the loop of one durable pull consumer.
type Consumer struct {
	cfg ConsumerConfig
	js  jetstream.JetStream
	pub *Publisher
	// lastFailure is when (unix ns) a pull or an ack last failed.
	lastFailure atomic.Int64
	tel         *telemetry.Telemetry
	log         *slog.Logger
	tracer      trace.Tracer
	handled     metric.Int64Counter
	duration    metric.Float64Histogram
	// outcomes holds each outcome's metric attributes, made once: an
	// attribute set is sorted and hashed when made, four or five times a
	// mention.
	outcomes map[string]metric.MeasurementOption
	// batchSize is how many messages each batch held (batch consumers),
	// recorded with this consumer's attribute, made once.
	batchSize metric.Int64Histogram
	consumer  metric.MeasurementOption

	mu       sync.Mutex
	iter     jetstream.MessagesContext
	stopping bool // set by Stop, under mu
	stopped  context.CancelFunc
	pulling  atomic.Bool
	lag      metric.Registration
	inFlight sync.WaitGroup
	done     chan struct{}
	// slots bound the messages pulled and not yet settled (MaxInFlight).
	slots chan struct{}
	// shared, when set, gathers this consumer's messages into batches with
	// those of the service's other mention partitions (see batcher).
	shared *batcher
}

// NewConsumer creates (or updates) the durable consumer. It does not start
// pulling until Start.
func NewConsumer(ctx context.Context, js jetstream.JetStream, pub *Publisher, tel *telemetry.Telemetry, cfg ConsumerConfig) (*Consumer, error) {
	cfg.defaults()
	if (cfg.Handler == nil && cfg.Batch == nil) || cfg.DeadLetter == "" || cfg.Stream == "" {
		return nil, fmt.Errorf("consumer %s-%s: Handler (or Batch), DeadLetter and Stream are required", cfg.Service, cfg.Purpose)
	}
	meter := tel.Meter.Meter("firebreak/bus")
	handled, err := meter.Int64Counter("firebreak.messages.processed", metric.WithDescription("messages handled, by consumer and outcome (ack, retry, wait: retried during an outage, deadletter)"))
	if err != nil {
		return nil, err
	}
	duration, err := meter.Float64Histogram("firebreak.message.handle.duration", metric.WithUnit("s"),
		metric.WithDescription("time to handle one message"),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
	if err != nil {
		return nil, err
	}
	// Batches of one pay per message the round trips a batch shares: at a
	// moderate rate, or spread over many replicas, they are what saturates
	// the cores.
	batchSize, err := meter.Int64Histogram("firebreak.message.batch.size", metric.WithUnit("{message}"),
		metric.WithDescription("messages handled together in one batch, by consumer (batch consumers only)"),
		metric.WithExplicitBucketBoundaries(1, 2, 4, 8, 16, 32, 64, 128))
	if err != nil {
		return nil, err
	}
	durable := Durable(cfg.Service, cfg.Purpose)
	c := &Consumer{
		cfg: cfg, js: js, pub: pub, tel: tel, handled: handled, duration: duration, batchSize: batchSize,
		consumer: metric.WithAttributeSet(attribute.NewSet(attribute.String("consumer", durable))),
		log:      tel.Logger.With("consumer", durable),
		tracer:   tel.Tracer.Tracer("firebreak/bus"),
		done:     make(chan struct{}),
		slots:    make(chan struct{}, cfg.MaxInFlight),
	}
	c.outcomes = make(map[string]metric.MeasurementOption)
	for _, o := range []string{"ack", "retry", "wait", "deadletter"} {
		c.outcomes[o] = metric.WithAttributeSet(attribute.NewSet(attribute.String("consumer", durable), attribute.String("outcome", o)))
	}
	if err := c.create(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// create creates the durable consumer, or updates it to cfg.
func (c *Consumer) create(ctx context.Context) error {
	durable := Durable(c.cfg.Service, c.cfg.Purpose)
	if _, err := c.js.CreateOrUpdateConsumer(ctx, c.cfg.Stream, jetstream.ConsumerConfig{
		Durable:        durable,
		FilterSubjects: c.cfg.Subjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.cfg.AckWait,
		// Unlimited: the consumer decides when to give up (see settle), so
		// a message is never dropped by the broker after its last try,
		// for instance when its dead letter could not be published.
		MaxDeliver:    -1,
		MaxAckPending: c.cfg.MaxInFlight * 4,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}); err != nil {
		return fmt.Errorf("create consumer %s on %s: %w", durable, c.cfg.Stream, err)
	}
	return nil
}

// Start begins pulling. Messages are handled concurrently, at most
// MaxInFlight at a time; the iterator buffers no more than that, so a slow
// handler slows the pull instead of filling memory.
func (c *Consumer) Start(ctx context.Context) error {
	lag, err := observeLag(c.tel.Meter.Meter("firebreak/bus"), c.js, c.cfg.Stream, Durable(c.cfg.Service, c.cfg.Purpose))
	if err != nil {
		return err
	}
	iter, err := c.open(ctx)
	if err != nil {
		_ = lag.Unregister()
		return err
	}
	stopCtx, stopped := context.WithCancel(context.Background())
	c.mu.Lock()
	c.iter, c.stopped, c.lag = iter, stopped, lag
	c.mu.Unlock()
	c.pulling.Store(true)
	go c.loop(stopCtx, iter)
	return nil
}

// open starts an iterator over the durable consumer.
func (c *Consumer) open(ctx context.Context) (jetstream.MessagesContext, error) {
	durable := Durable(c.cfg.Service, c.cfg.Purpose)
	cons, err := c.js.Consumer(ctx, c.cfg.Stream, durable)
	if err != nil {
		return nil, fmt.Errorf("look up consumer %s: %w", durable, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(c.cfg.MaxInFlight),
		jetstream.PullExpiry(pullExpiry), jetstream.PullHeartbeat(pullHeartbeat))
	if err != nil {
		return nil, fmt.Errorf("pull from %s: %w", durable, err)
	}
	return iter, nil
}

// Ready is a readiness check: it fails while the consumer is not pulling
// (its iterator closed and it is being re-created), so /readyz says so.
func (c *Consumer) Ready(context.Context) error {
	if c.pulling.Load() {
		return nil
	}
	return fmt.Errorf("consumer %s is not pulling messages; it is being re-created", Durable(c.cfg.Service, c.cfg.Purpose))
}

// loop pulls until Stop. An iterator that closes on its own (the consumer
// or its stream was deleted, the connection closed for good) is re-created,
// so the service does not go on looking alive while consuming nothing.
func (c *Consumer) loop(stopCtx context.Context, iter jetstream.MessagesContext) {
	defer close(c.done)
	for iter != nil {
		c.pull(iter)
		c.pulling.Store(false)
		iter = c.reopen(stopCtx)
	}
}

// pulled is a message, the stop of its keep-alive and the consumer that
// pulled it (which settles it).
type pulled struct {
	msg   jetstream.Msg
	stop  func()
	owner *Consumer
}

// pull hands messages to handlers until the iterator closes. A message's
// keep-alive starts as soon as it is pulled, not when its handling starts:
// with a short AckWait, one waiting for a slot or a batch worker would
// otherwise be redelivered to another replica while it waits.
func (c *Consumer) pull(iter jetstream.MessagesContext) {
	b := c.shared
	if c.cfg.Batch != nil && b == nil {
		b = newBatcher(c.cfg.MaxInFlight, c.cfg.BatchWorkers, c.cfg.MaxBatch)
		batching := make(chan struct{})
		go func() { defer close(batching); b.run() }()
		defer func() { close(b.queue); <-batching }()
	}
	for {
		msg, err := iter.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			c.log.Warn("pull failed; retrying", "err", err)
			c.failed()
			continue
		}
		p := pulled{msg, keepAlive(msg, c.cfg.AckWait/3), c}
		c.slots <- struct{}{}
		c.inFlight.Add(1)
		if b != nil {
			b.queue <- p
			continue
		}
		go func() {
			defer c.release()
			defer p.stop()
			c.handle(p.msg)
		}()
	}
}

// release frees a settled message's slot.
func (c *Consumer) release() {
	<-c.slots
	c.inFlight.Done()
}

// batcher hands queued messages to the batch handler of the consumer that
// pulled them. Each consumer has its own, or a service's mention
// partitions share one (NewMentionConsumers): splitting a stream then
// does not split its batches, which would cost per message what a batch
// shares (a Redis round trip, a publish, a handling span).
type batcher struct {
	queue   chan pulled
	workers chan struct{}
	max     int
}

// newBatcher queues up to size messages, handles at most workers batches
// at once and at most max messages in one.
func newBatcher(size, workers, max int) *batcher {
	return &batcher{queue: make(chan pulled, size), workers: make(chan struct{}, workers), max: max}
}

// run hands queued messages to batch handlers until the queue closes. It
// waits for a free worker before it gathers a batch, so messages that
// come meanwhile join it.
func (b *batcher) run() {
	for p := range b.queue {
		b.workers <- struct{}{}
		batch := []pulled{p}
	gather:
		for len(batch) < b.max {
			select {
			case m, ok := <-b.queue:
				if !ok {
					break gather
				}
				batch = append(batch, m)
			default:
				break gather
			}
		}
		go func() {
			defer func() {
				for _, p := range batch {
					p.owner.release()
				}
				<-b.workers
			}()
			for _, p := range batch {
				defer p.stop()
			}
			handleBatch(batch)
		}()
	}
}

// handleBatch handles a batch as handle does one message, then settles
// each message by its own outcome through the consumer that pulled it, the
// acks side by side. The consumers a batch may mix (a service's mention
// partitions) share their handler, limits and telemetry.
func handleBatch(batch []pulled) {
	c := batch[0].owner
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.MaxHandle)
	defer cancel()
	// The batch's span continues the first message's trace, as handle's
	// does for its message, and links the others' (a span has one parent).
	parent := ctx
	var links []trace.Link
	mctxs := make([]context.Context, len(batch))
	for i, p := range batch {
		mctxs[i] = c.tel.Propagator.Extract(ctx, headerCarrier(p.msg.Headers()))
		if i == 0 {
			parent = mctxs[i]
		} else {
			links = append(links, trace.LinkFromContext(mctxs[i]))
		}
	}
	first := batch[0].msg.Subject()
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithLinks(links...),
		trace.WithAttributes(messagingAttrs(first, "process", semconv.MessagingOperationTypeProcess)...),
		trace.WithAttributes(semconv.MessagingConsumerGroupName(Durable(c.cfg.Service, c.cfg.Purpose)))}
	if len(batch) > 1 {
		opts = append(opts, trace.WithAttributes(semconv.MessagingBatchMessageCount(len(batch))))
	}
	ctx, span := c.tracer.Start(parent, "process "+first, opts...)
	defer span.End()
	msgs, spans := c.traceEach(batch, mctxs, span)
	c.batchSize.Record(ctx, int64(len(batch)), c.consumer)

	start := time.Now()
	errs := c.safeBatch(ctx, msgs)
	var settled sync.WaitGroup
	for i, p := range batch {
		settle := func() {
			p.owner.record(ctx, p.owner.settle(ctx, p.msg, errs[i]), start)
			if spans != nil {
				if errs[i] != nil {
					_ = failed(spans[i], errs[i])
				}
				spans[i].End()
			}
		}
		if errs[i] == nil {
			settle() // an ack does not wait
			continue
		}
		// A failure may wait (a dead letter's publish, the outage check):
		// failures settle side by side.
		settled.Add(1)
		go func() { defer settled.Done(); settle() }()
	}
	settled.Wait()
}

// traceEach gives each message of a batch of several its own processing
// span, a child of its producer's and linked to the batch's, and hands the
// handler the messages carrying it (SpanOf): what the handler does for a
// message then goes on in that message's trace, not the first one's. A
// batch of one is processed in the batch's span.
func (c *Consumer) traceEach(batch []pulled, mctxs []context.Context, batchSpan trace.Span) ([]jetstream.Msg, []trace.Span) {
	msgs := make([]jetstream.Msg, len(batch))
	if len(batch) == 1 {
		msgs[0] = traced{Msg: batch[0].msg, span: batchSpan.SpanContext()}
		return msgs, nil
	}
	spans := make([]trace.Span, len(batch))
	link := trace.WithLinks(trace.Link{SpanContext: batchSpan.SpanContext()})
	for i, p := range batch {
		msg := p.msg
		_, spans[i] = c.tracer.Start(mctxs[i], "process "+msg.Subject(), trace.WithSpanKind(trace.SpanKindConsumer), link,
			trace.WithAttributes(messagingAttrs(msg.Subject(), "process", semconv.MessagingOperationTypeProcess)...))
		msgs[i] = traced{Msg: msg, span: spans[i].SpanContext()}
	}
	return msgs, spans
}

// traced is a message a batch handler is given, with the span processing
// it.
type traced struct {
	jetstream.Msg
	span trace.SpanContext
}

// SpanOf is the span processing msg in a batch handler: the parent to give
// what msg causes (Event.Parent), so that each message's trace goes on
// through a batch. It is zero for a message that came another way.
func SpanOf(msg jetstream.Msg) trace.SpanContext {
	if t, ok := msg.(traced); ok {
		return t.span
	}
	return trace.SpanContext{}
}

// MessageContext is ctx with the span processing msg (SpanOf) as its
// span, for the work a batch handler does for msg alone.
func MessageContext(ctx context.Context, msg jetstream.Msg) context.Context {
	if sc := SpanOf(msg); sc.IsValid() {
		return trace.ContextWithSpanContext(ctx, sc)
	}
	return ctx
}

// safeBatch is safeHandle for a batch: a panic, or a handler that does not
// answer for every message, fails every message of the batch (retryably).
func (c *Consumer) safeBatch(ctx context.Context, batch []jetstream.Msg) (errs []error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.ErrorContext(ctx, "batch handler panicked", "messages", len(batch), "panic", r, "stack", string(debug.Stack()))
			errs = make([]error, len(batch))
			for i := range errs {
				errs[i] = fmt.Errorf("handler panic: %v", r)
			}
		}
	}()
	errs = c.cfg.Batch(ctx, batch)
	if len(errs) != len(batch) {
		err := fmt.Errorf("batch handler answered %d of %d messages", len(errs), len(batch))
		errs = make([]error, len(batch))
		for i := range errs {
			errs[i] = err
		}
	}
	return errs
}

// reopen re-creates the consumer and its iterator, retrying with backoff
// until it works or Stop is called (then it returns nil).
func (c *Consumer) reopen(stopCtx context.Context) jetstream.MessagesContext {
	retry := backoff.Policy{Initial: c.cfg.RetryBase, Max: c.cfg.RetryMax, Jitter: 0.5}
	for attempt := 1; ; attempt++ {
		c.mu.Lock()
		stopping := c.stopping
		c.mu.Unlock()
		if stopping {
			return nil
		}
		if attempt == 1 {
			c.log.Error("consumer stopped pulling; re-creating it (the service reports not ready meanwhile)")
		}
		iter, err := c.recreate(stopCtx)
		if err == nil {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.stopping { // Stop came while we were re-creating.
				iter.Stop()
				return nil
			}
			c.iter = iter
			c.pulling.Store(true)
			c.log.Info("consumer re-created; pulling again", "attempts", attempt)
			return iter
		}
		wait := retry.Next(attempt)
		c.log.Warn("re-creating consumer failed; retrying", "err", err, "in", wait.String())
		if (clock.System{}).Sleep(stopCtx, wait) != nil {
			return nil
		}
	}
}

func (c *Consumer) recreate(ctx context.Context) (jetstream.MessagesContext, error) {
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if err := c.create(ctx); err != nil {
		return nil, err
	}
	return c.open(ctx)
}

// Stop stops pulling, lets in-flight messages finish and ack, and returns
// when they have or ctx ends. Unacked messages are redelivered elsewhere.
func (c *Consumer) Stop(ctx context.Context) error {
	c.mu.Lock()
	iter, stopped, lag := c.iter, c.stopped, c.lag
	c.stopping = true
	c.mu.Unlock()
	if iter == nil {
		return nil
	}
	// A drained consumer is no longer ours to report on.
	_ = lag.Unregister()
	stopped()
	iter.Drain()
	waited := make(chan struct{})
	go func() { <-c.done; c.inFlight.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain consumer %s: %w", Durable(c.cfg.Service, c.cfg.Purpose), ctx.Err())
	}
}

func (c *Consumer) handle(msg jetstream.Msg) {
	// Handling gets its own context: a message already pulled is finished
	// even while the service drains, bounded by MaxHandle.
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.MaxHandle)
	defer cancel()
	ctx = c.tel.Propagator.Extract(ctx, headerCarrier(msg.Headers()))
	ctx, span := c.tracer.Start(ctx, "process "+msg.Subject(), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(messagingAttrs(msg.Subject(), "process", semconv.MessagingOperationTypeProcess)...),
		trace.WithAttributes(semconv.MessagingConsumerGroupName(Durable(c.cfg.Service, c.cfg.Purpose))))
	defer span.End()

	start := time.Now()
	err := c.safeHandle(ctx, msg)
	c.record(ctx, c.settle(ctx, msg, err), start)
}

// record counts a settled message by its outcome and how long it took
// since start.
func (c *Consumer) record(ctx context.Context, outcome string, start time.Time) {
	attrs, ok := c.outcomes[outcome]
	if !ok {
		attrs = metric.WithAttributes(attribute.String("consumer", Durable(c.cfg.Service, c.cfg.Purpose)), attribute.String("outcome", outcome))
	}
	c.handled.Add(ctx, 1, attrs)
	c.duration.Record(ctx, time.Since(start).Seconds(), attrs)
}

// safeHandle turns a handler panic into a retryable error, so one bad code
// path cannot take the service down with every message in flight.
func (c *Consumer) safeHandle(ctx context.Context, msg jetstream.Msg) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
			c.log.ErrorContext(ctx, "handler panicked", "subject", msg.Subject(), "panic", r, "stack", string(debug.Stack()))
		}
	}()
	return c.cfg.Handler(ctx, msg)
}

// settle acks, naks or dead-letters msg according to err.
func (c *Consumer) settle(ctx context.Context, msg jetstream.Msg, err error) string {
	if err == nil {
		// A plain ack, not a double one: waiting for JetStream to confirm
		// it would cost a reply from the broker per message (four or five
		// a mention) and hold the slot meanwhile, for nothing the handler
		// could act on. A lost ack (a node dying) has the message
		// redelivered after AckWait, to work that finds it done: handlers
		// are idempotent, as any redelivery needs (DESIGN.md). Escalation's
		// join does not count on its acks failing to learn that the bus
		// is in trouble: the services whose parts are late note it
		// (package trouble).
		if ackErr := msg.Ack(); ackErr != nil {
			c.log.WarnContext(ctx, "ack failed; message will be redelivered", "subject", msg.Subject(), "err", ackErr)
			c.failed()
		}
		return "ack"
	}
	if !IsPermanent(err) {
		// Redis or the bus failed it (connection refused, CLUSTERDOWN, an
		// unconfirmed publish): the messages that failed with it come back
		// as the backoff allows.
		c.failed()
	}
	delivered := uint64(1)
	if meta, mErr := msg.Metadata(); mErr == nil {
		delivered = meta.NumDelivered
	}
	if !IsPermanent(err) && delivered >= uint64(c.cfg.MaxDeliver) {
		down := c.outage(ctx)
		if down == nil && (IsUnavailable(err) || storeDown(err)) {
			down = err
		}
		if down != nil {
			c.log.WarnContext(ctx, "handling failed during an outage; waiting it out", "subject", msg.Subject(), "deliveries", delivered, "err", err, "outage", down)
			_ = msg.NakWithDelay(c.backoff(delivered, err))
			return "wait"
		}
	}
	if IsPermanent(err) || delivered >= uint64(c.cfg.MaxDeliver) {
		if dlErr := c.deadLetter(ctx, msg, err, delivered); dlErr != nil {
			c.log.ErrorContext(ctx, "dead-letter failed; will retry", "subject", msg.Subject(), "err", dlErr, "cause", err)
			// The usual backoff, not its longest: a dead-letter stream
			// back after seconds gets the message within seconds.
			_ = msg.NakWithDelay(c.backoff(delivered, dlErr))
			return "retry"
		}
		c.log.ErrorContext(ctx, "message dead-lettered", "subject", msg.Subject(), "deliveries", delivered, "reason", err)
		_ = msg.TermWithReason(truncate(err.Error(), 200))
		return "deadletter"
	}
	c.log.WarnContext(ctx, "handling failed; will retry", "subject", msg.Subject(), "deliveries", delivered, "err", err)
	delay := c.backoff(delivered, err)
	var ra retryAfterError
	if errors.As(err, &ra) {
		delay = ra.after
	}
	_ = msg.NakWithDelay(delay)
	return "retry"
}

// outage is why the service's dependencies are down, nil when they are up
// (or nobody said how to tell).
func (c *Consumer) outage(ctx context.Context) error {
	if c.cfg.Ready == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	return c.cfg.Ready(ctx)
}

func (c *Consumer) deadLetter(ctx context.Context, msg jetstream.Msg, cause error, delivered uint64) error {
	headers := map[string]string{
		HeaderDeadReason:  truncate(cause.Error(), 1024),
		HeaderDeadSubject: msg.Subject(),
		HeaderDeadCount:   strconv.FormatUint(delivered, 10),
	}
	id := msg.Subject()
	if meta, err := msg.Metadata(); err == nil {
		headers[HeaderDeadStream] = meta.Stream
		headers[HeaderDeadSeq] = strconv.FormatUint(meta.Sequence.Stream, 10)
		id = meta.Stream + ":" + strconv.FormatUint(meta.Sequence.Stream, 10)
	}
	for k, v := range msg.Headers() {
		if _, taken := headers[k]; !taken && len(v) > 0 {
			headers[k] = v[0]
		}
	}
	_, err := c.pub.Publish(ctx, Event{
		Subject: c.cfg.DeadLetter,
		// Per consumer: two services giving up on one message are two dead
		// letters, not one deduplicated away.
		MsgID:   MsgID(Durable(c.cfg.Service, c.cfg.Purpose)+":"+id, "dead"),
		Headers: headers,
		Data:    msg.Data(),
	})
	return err
}

// A pull request held by a NATS node that dies is noticed when its idle
// heartbeats stop: after two missed ones it is sent again. The library's
// default (5s heartbeats on 30s pulls) leaves a consumer idle for 10s after
// a leader is SIGKILLed, the whole of escalation's join timeout (make chaos:
// hundreds of mentions decided without a part under ten leader kills).
const (
	pullExpiry    = 10 * time.Second
	pullHeartbeat = 2 * time.Second
)

// ackTimeout bounds a short request to JetStream (re-creating a consumer)
// or a readiness check made while settling a message.
const ackTimeout = 5 * time.Second

// keepAlive tells JetStream every interval that msg is still being worked
// on, until the returned stop is called. A timer rather than a goroutine:
// most messages finish long before the first tick.
func keepAlive(msg jetstream.Msg, every time.Duration) (stop func()) {
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	mu.Lock() // the callback must not see t before it is set
	t = time.AfterFunc(every, func() {
		_ = msg.InProgress()
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			t.Reset(every)
		}
	})
	mu.Unlock()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}

// failed records that the stream or the store failed this consumer (see
// Failing).
func (c *Consumer) failed() {
	c.lastFailure.Store(time.Now().UnixNano())
	if c.cfg.OnFailure != nil {
		c.cfg.OnFailure()
	}
}

// Failing reports whether a pull or an ack of this consumer failed, or a
// message failed for a reason that passes, within the last d: the stream is going
// through an election or lost a node, or Redis is coming back, and what the
// other services send is late rather than lost.
func (c *Consumer) Failing(d time.Duration) bool {
	at := c.lastFailure.Load()
	return at != 0 && time.Since(time.Unix(0, at)) < d
}

// backoff is the nak delay after the given delivery failed with err.
// Jitter spreads retries of a burst that failed together. A publish the
// bus did not confirm (Unavailable) backs off by a quarter at a time, not
// double: its usual cause is a stream's leader election, over in seconds,
// and a part whose wait doubled through two or three of them came after
// escalation's join timeout (make chaos, the leader kills). A long outage
// still backs off to RetryMax, after about 20 tries.
func (c *Consumer) backoff(delivered uint64, err error) time.Duration {
	p := backoff.Policy{Initial: c.cfg.RetryBase, Max: c.cfg.RetryMax, Multiplier: 2, Jitter: 0.5}
	if IsUnavailable(err) {
		p.Multiplier = 1.25
	}
	return p.Next(int(min(delivered, 64)))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// MentionAckWait is the AckWait of the consumers a mention's join waits on:
// scorer's, reach's and escalation's. A part in flight on a replica that
// is SIGKILLed comes this much later, and escalation decides a mention
// without a part later than its join timeout (10s by default), so it must
// be a small share of that. Keep-alives every third of it hold a long
// handling, so a short one costs only their traffic.
const MentionAckWait = 3 * time.Second

// MaxMentionAckWait is the longest --ack-wait scorer, reach and escalation
// accept; MentionAckWaitFix says why.
const MaxMentionAckWait = 5 * time.Second

// MentionAckWaitFix is the start-up error of an --ack-wait out of bounds.
const MentionAckWaitFix = "must be between 1s and 5s: a mention in flight on a replica that dies is taken up by another only after it, and escalation decides a mention without a part that comes later than its --join-timeout (10s by default)"
