package load

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Hops is how many JetStream hops a mention makes on its way through the
// pipeline: ingested, scored/reached, case event, delivery record.
const Hops = 4

// CeilingOptions shape the broker ceiling measurement.
type CeilingOptions struct {
	// Duration of the measurement; the first fifth is a warm-up.
	Duration time.Duration
	// Size of each message, about that of an encoded mention.
	Size int
	// Replicas of the scratch stream, as the pipeline's streams have.
	Replicas int
	// Window bounds messages in the chain at once, as consumers' in-flight
	// limits bound the pipeline.
	Window int
	// Partitions is how many independent chains, each in its own stream,
	// run side by side: the layout a pipeline partitioned by author could
	// use, so that fsyncs of different streams run in parallel.
	Partitions int
}

// CeilingResult is what the broker alone sustained.
type CeilingResult struct {
	Hops       int     `json:"hops"`
	Partitions int     `json:"partitions"`
	Messages   int64   `json:"messages"`
	PerSecond  float64 `json:"per_second"`
	Size       int     `json:"message_bytes"`
}

// Ceiling measures how many messages a second the broker carries through
// Hops chained JetStream hops, each stage pulling from one subject,
// publishing to the next and acknowledging once that publish is stored (the
// same rule the services keep). It uses a scratch stream it deletes after.
func Ceiling(ctx context.Context, nc *nats.Conn, opts CeilingOptions) (CeilingResult, error) {
	opts.Partitions = max(opts.Partitions, 1)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(opts.Window*max(opts.Partitions, 1)))
	if err != nil {
		return CeilingResult{}, fmt.Errorf("ceiling: JetStream: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var done atomic.Int64
	var stops []func()
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	firsts := make([]string, opts.Partitions)
	for part := range opts.Partitions {
		first, stop, err := chain(runCtx, js, opts, &done)
		if err != nil {
			return CeilingResult{}, err
		}
		firsts[part], stops = first, append(stops, stop)
	}
	return measure(runCtx, js, firsts, opts, &done)
}

// chain makes one scratch stream with Hops relays and returns the subject
// of its first hop and how to stop it and delete the stream.
func chain(ctx context.Context, js jetstream.JetStream, opts CeilingOptions, done *atomic.Int64) (string, func(), error) {
	id := rand.Text()[:8]
	subject := func(hop int) string { return fmt.Sprintf("loadceiling.%s.hop%d", id, hop) }
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "LOADCEILING_" + id, Subjects: []string{"loadceiling." + id + ".>"},
		Storage: jetstream.FileStorage, Replicas: max(opts.Replicas, 1), Duplicates: 2 * time.Minute,
	})
	if err != nil {
		return "", nil, fmt.Errorf("ceiling: create scratch stream: %w", err)
	}
	var stops []func()
	stop := func() {
		for _, s := range stops {
			s()
		}
		_ = js.DeleteStream(context.Background(), stream.CachedInfo().Config.Name)
	}
	for hop := 1; hop <= Hops; hop++ {
		next := ""
		if hop < Hops {
			next = subject(hop + 1)
		}
		s, err := relay(ctx, js, stream, subject(hop), next, opts.Window, done)
		if err != nil {
			stop()
			return "", nil, err
		}
		stops = append(stops, s)
	}
	return subject(1), stop, nil
}

// measure publishes into the first hops in turn, keeping at most Window
// messages in each chain, and counts what leaves the last hops after the
// warm-up.
func measure(ctx context.Context, js jetstream.JetStream, firsts []string, opts CeilingOptions, done *atomic.Int64) (CeilingResult, error) {
	payload := make([]byte, opts.Size)
	warm := opts.Duration / 5
	start := time.Now()
	var sent int64
	var fromCount int64
	var from time.Time
	for time.Since(start) < opts.Duration {
		if from.IsZero() && time.Since(start) >= warm {
			from, fromCount = time.Now(), done.Load()
		}
		if sent-done.Load() >= int64(opts.Window*len(firsts)) {
			// The chain is full; let it move. A yield-sized pause keeps the
			// publisher from spinning a core the broker needs.
			time.Sleep(50 * time.Microsecond)
			continue
		}
		sent++
		first := firsts[sent%int64(len(firsts))]
		if _, err := js.PublishAsync(first, payload, jetstream.WithMsgID(fmt.Sprintf("%s-%d", first, sent))); err != nil {
			return CeilingResult{}, fmt.Errorf("ceiling: publish: %w", err)
		}
		if ctx.Err() != nil {
			return CeilingResult{}, ctx.Err()
		}
	}
	n := done.Load() - fromCount
	return CeilingResult{Hops: Hops, Partitions: len(firsts), Messages: n, PerSecond: float64(n) / time.Since(from).Seconds(), Size: opts.Size}, nil
}

// relay pulls from one hop and publishes to the next (or counts, at the
// last hop), acknowledging each message once its successor is stored.
func relay(ctx context.Context, js jetstream.JetStream, stream jetstream.Stream, from, to string, window int, done *atomic.Int64) (func(), error) {
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: "relay-" + from[len(from)-4:], FilterSubject: from,
		AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: window * 2, AckWait: 30 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("ceiling: consumer on %s: %w", from, err)
	}
	type pending struct {
		msg jetstream.Msg
		ack jetstream.PubAckFuture
	}
	acks := make(chan pending, window)
	go func() {
		for p := range acks {
			select {
			case <-p.ack.Ok():
				_ = p.msg.Ack()
			case <-p.ack.Err():
				_ = p.msg.Nak()
			case <-ctx.Done():
				return
			}
		}
	}()
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		if to == "" {
			_ = msg.Ack()
			done.Add(1)
			return
		}
		meta, _ := msg.Metadata()
		var seq uint64
		if meta != nil {
			seq = meta.Sequence.Stream
		}
		f, err := js.PublishAsync(to, msg.Data(), jetstream.WithMsgID(fmt.Sprintf("%s-%d", to, seq)))
		if err != nil {
			_ = msg.Nak()
			return
		}
		select {
		case acks <- pending{msg, f}:
		case <-ctx.Done():
		}
	}, jetstream.PullMaxMessages(window))
	if err != nil {
		return nil, fmt.Errorf("ceiling: consume %s: %w", from, err)
	}
	return cc.Stop, nil
}
