// Package streamscan reads a JetStream stream whole, for the checkers of
// make chaos and make bench. A read that stops before the end is an error,
// never a shorter answer: a checker that silently saw part of a stream
// would report nothing lost while it missed what it exists to catch.
package streamscan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Each calls fn with every message the stream named holds when Each is
// called, in order. It returns an error if the stream stops answering
// before its last message at that moment, and says how far it got.
func Each(ctx context.Context, js jetstream.JetStream, name string, fn func(jetstream.Msg)) error {
	stream, err := js.Stream(ctx, name)
	if err != nil {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	if info.State.Msgs == 0 {
		return nil
	}
	open := func(from uint64) (fetcher, error) {
		return stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from})
	}
	return read(open, name, info.State.FirstSeq, info.State.LastSeq, fn)
}

// fetcher is the part of a consumer read needs.
type fetcher interface {
	Fetch(batch int, opts ...jetstream.FetchOpt) (jetstream.MessageBatch, error)
}

// fetchWait bounds one fetch: a stream that sends nothing for this long
// while messages up to the last remain has stalled.
const fetchWait = 2 * time.Second

// stalls is how many failed or empty fetches in a row read takes, each
// followed by a fresh consumer from where it stopped, before it reports a
// short read: a cluster electing a leader answers again within seconds.
const stalls = 8

// read fetches from sequence first until the message at sequence last,
// opening a consumer again from where it stopped after a fetch that failed
// or came back empty.
func read(open func(from uint64) (fetcher, error), name string, first, last uint64, fn func(jetstream.Msg)) error {
	var seen uint64
	at := first - 1
	var cons fetcher
	var why error
	for stalled := 0; at < last; {
		if stalled == stalls {
			return fmt.Errorf("read %s: short read: the stream stopped answering after %d messages, at sequence %d of %d (%v); read it again once its leader is back", name, seen, at, last, why)
		}
		if cons == nil {
			var err error
			if cons, err = open(at + 1); err != nil {
				why, stalled = err, stalled+1
				time.Sleep(time.Duration(stalled) * 250 * time.Millisecond)
				continue
			}
		}
		n, err := fetch(cons, last, fn, &at)
		seen += uint64(n)
		switch {
		case err != nil:
			why, stalled, cons = err, stalled+1, nil
		case n == 0 && at < last:
			why, stalled, cons = errors.New("nothing came"), stalled+1, nil
		default:
			stalled = 0
		}
	}
	return nil
}

// fetch hands one batch's messages up to sequence last to fn, moving *at
// on, and returns how many it handed.
func fetch(cons fetcher, last uint64, fn func(jetstream.Msg), at *uint64) (int, error) {
	batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(fetchWait))
	if err != nil {
		return 0, err
	}
	n := 0
	for msg := range batch.Messages() {
		meta, err := msg.Metadata()
		if err != nil {
			return n, fmt.Errorf("message after sequence %d: %w", *at, err)
		}
		if meta.Sequence.Stream > last {
			// Stored after the read began: what came before is read
			// (the consumer skips only deleted messages).
			*at = last
			continue
		}
		if meta.Sequence.Stream <= *at {
			continue // a fresh consumer's overlap
		}
		fn(msg)
		*at = meta.Sequence.Stream
		n++
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		return n, err
	}
	return n, nil
}
