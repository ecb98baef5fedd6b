package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// observeTimeout bounds the JetStream look-ups one scrape makes, so a slow
// broker delays a scrape by seconds rather than hanging it.
const observeTimeout = 2 * time.Second

// ObserveStreams reports, at every metrics collection, how full each of
// Firebreak's streams is against its limits and the account's storage
// against its quota. A limit NATS does not enforce is reported as -1, as
// NATS itself reports it, so alerts divide only by positive limits.
// Unregister the returned registration when the connection closes.
func ObserveStreams(meter metric.Meter, js jetstream.JetStream, names Names) (metric.Registration, error) {
	messages, err1 := meter.Int64ObservableGauge("firebreak.stream.messages", metric.WithUnit("{message}"),
		metric.WithDescription("messages stored in the stream"))
	messageLimit, err2 := meter.Int64ObservableGauge("firebreak.stream.messages.limit", metric.WithUnit("{message}"),
		metric.WithDescription("most messages the stream keeps (-1: no limit)"))
	size, err3 := meter.Int64ObservableGauge("firebreak.stream.size", metric.WithUnit("By"),
		metric.WithDescription("bytes stored in the stream"))
	sizeLimit, err4 := meter.Int64ObservableGauge("firebreak.stream.size.limit", metric.WithUnit("By"),
		metric.WithDescription("most bytes the stream keeps (-1: no limit)"))
	storage, err5 := meter.Int64ObservableGauge("firebreak.jetstream.storage", metric.WithUnit("By"),
		metric.WithDescription("file storage the NATS account uses"))
	storageLimit, err6 := meter.Int64ObservableGauge("firebreak.jetstream.storage.limit", metric.WithUnit("By"),
		metric.WithDescription("file storage the NATS account may use (-1: no limit)"))
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return nil, fmt.Errorf("stream metrics: %w", err)
	}
	observe := func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, observeTimeout)
		defer cancel()
		var errs []error
		for _, spec := range names.Streams() {
			name := spec.Name
			info, err := js.Stream(ctx, name)
			if err != nil {
				errs = append(errs, fmt.Errorf("stream %s: %w", name, err))
				continue
			}
			st := info.CachedInfo()
			attrs := metric.WithAttributes(attribute.String("stream", name))
			o.ObserveInt64(messages, int64(st.State.Msgs), attrs)
			o.ObserveInt64(messageLimit, st.Config.MaxMsgs, attrs)
			o.ObserveInt64(size, int64(st.State.Bytes), attrs)
			o.ObserveInt64(sizeLimit, st.Config.MaxBytes, attrs)
		}
		acct, err := js.AccountInfo(ctx)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("JetStream account: %w", err))...)
		}
		o.ObserveInt64(storage, int64(acct.Store))
		o.ObserveInt64(storageLimit, acct.Limits.MaxStore)
		return errors.Join(errs...)
	}
	return meter.RegisterCallback(observe, messages, messageLimit, size, sizeLimit, storage, storageLimit)
}

// observeLag registers a gauge of the messages the consumer has not yet
// been given, the lag that scaling and alerts watch. It looks the consumer
// up by name at each collection, so a re-created consumer is still seen.
func observeLag(meter metric.Meter, js jetstream.JetStream, stream, durable string) (metric.Registration, error) {
	lag, err := meter.Int64ObservableGauge("firebreak.consumer.lag", metric.WithUnit("{message}"),
		metric.WithDescription("messages in the stream that the consumer has not been given yet"))
	if err != nil {
		return nil, fmt.Errorf("consumer lag metric: %w", err)
	}
	pending, err := meter.Int64ObservableGauge("firebreak.consumer.ack_pending", metric.WithUnit("{message}"),
		metric.WithDescription("messages given to the consumer and not yet acknowledged"))
	if err != nil {
		return nil, fmt.Errorf("consumer ack-pending metric: %w", err)
	}
	attrs := metric.WithAttributes(attribute.String("consumer", durable), attribute.String("stream", stream))
	return meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, observeTimeout)
		defer cancel()
		cons, err := js.Consumer(ctx, stream, durable)
		if err != nil {
			return fmt.Errorf("consumer %s: %w", durable, err)
		}
		info := cons.CachedInfo()
		o.ObserveInt64(lag, int64(info.NumPending), attrs)
		o.ObserveInt64(pending, int64(info.NumAckPending), attrs)
		return nil
	}, lag, pending)
}
