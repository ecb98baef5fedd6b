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
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return read(cons, name, info.State.LastSeq, fn)
}

// fetcher is the part of a consumer read needs.
type fetcher interface {
	Fetch(batch int, opts ...jetstream.FetchOpt) (jetstream.MessageBatch, error)
}

// fetchWait bounds one fetch: a stream that sends nothing for this long
// while messages up to last remain has stopped answering.
const fetchWait = 2 * time.Second

// read fetches until the message at sequence last.
func read(cons fetcher, name string, last uint64, fn func(jetstream.Msg)) error {
	var seen, at uint64
	for at < last {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			return fmt.Errorf("read %s: %w after %d messages, up to sequence %d of %d", name, err, seen, at, last)
		}
		n := 0
		for msg := range batch.Messages() {
			meta, err := msg.Metadata()
			if err != nil {
				return fmt.Errorf("read %s: message after sequence %d: %w", name, at, err)
			}
			if meta.Sequence.Stream > last {
				// Stored after the read began: what came before is read
				// (the consumer skips only deleted messages).
				at = last
				continue
			}
			fn(msg)
			at = meta.Sequence.Stream
			seen++
			n++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return fmt.Errorf("read %s: %w after %d messages, up to sequence %d of %d", name, err, seen, at, last)
		}
		if n == 0 && at < last {
			return fmt.Errorf("read %s: short read: the stream stopped answering after %d messages, at sequence %d of %d; read it again once its leader is back", name, seen, at, last)
		}
	}
	return nil
}
