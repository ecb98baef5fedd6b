package chaos

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/tools/load"
)

// Faults is the suite's schedule: one phase per fault. The Redis restart
// comes back from its append-only file (appendfsync always, see NewRedis),
// so it should forget nothing; the checker asks for every decision again
// at the end of the run to prove it.
func Faults() []Fault {
	faults := []Fault{{Name: "none (baseline)"}}
	for _, svc := range Services {
		faults = append(faults, Fault{Name: "SIGKILL " + svc, Inject: killService(svc)})
	}
	return append(faults,
		Fault{Name: "NATS node lost", Inject: killNode},
		Fault{Name: "receiver slow/500/429/flap", Inject: misbehave},
		Fault{Name: "duplicates + redelivery", Inject: duplicate},
		Fault{Name: redisFault, Inject: restartRedis},
	)
}

// at waits until a random moment in [from, to) of the phase.
func (s *Suite) at(ctx context.Context, start time.Time, from, to time.Duration) error {
	s.mu.Lock()
	d := from + time.Duration(s.rng.Int64N(int64(to-from)))
	s.mu.Unlock()
	select {
	case <-time.After(time.Until(start.Add(d))):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Suite) pause(lo, hi time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return lo + time.Duration(s.rng.Int64N(int64(hi-lo)))
}

// killService SIGKILLs the service twice at random moments, restarting it
// after a random outage each time.
func killService(name string) func(context.Context, *Suite, time.Duration) ([]Window, error) {
	return func(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
		start := time.Now()
		var ws []Window
		for _, span := range [][2]time.Duration{{length / 10, length * 4 / 10}, {length / 2, length * 8 / 10}} {
			if err := s.at(ctx, start, span[0], span[1]); err != nil {
				return ws, err
			}
			p := s.services[name]
			w := Window{Fault: "SIGKILL " + name, At: time.Now()}
			p.Kill()
			s.logf("killed %s", name)
			time.Sleep(s.pause(300*time.Millisecond, 3*time.Second))
			if err := p.Start(ctx); err != nil {
				return ws, fmt.Errorf("restart %s: %w", name, err)
			}
			w.Restored = time.Now()
			s.logf("%s back after %s", name, w.Restored.Sub(w.At).Round(time.Millisecond))
			ws = append(ws, w)
		}
		return ws, nil
	}
}

// killNode shuts down one NATS node and restarts it on its files.
func killNode(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	if err := s.at(ctx, time.Now(), length/10, length*3/10); err != nil {
		return nil, err
	}
	s.mu.Lock()
	i := s.rng.IntN(3)
	s.mu.Unlock()
	w := Window{Fault: fmt.Sprintf("NATS node n%d", i+1), At: time.Now()}
	s.cluster.Kill(i)
	s.logf("NATS node n%d down", i+1)
	time.Sleep(s.pause(2*time.Second, 5*time.Second))
	if err := s.cluster.Restart(ctx, i); err != nil {
		return []Window{w}, err
	}
	w.Restored = time.Now()
	s.logf("NATS node n%d back and current after %s", i+1, w.Restored.Sub(w.At).Round(time.Millisecond))
	return []Window{w}, nil
}

// misbehave makes the receiver slow, failing, throttling and flapping in
// turn, then healthy again.
func misbehave(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	step := length / 5
	var ws []Window
	for _, b := range []load.Behaviour{load.Slow, load.Failing, load.Throttling, load.Flapping} {
		w := Window{Fault: "receiver " + b.String(), At: time.Now()}
		s.sink.Set(b)
		select {
		case <-time.After(step):
		case <-ctx.Done():
			s.sink.Set(load.Healthy)
			return ws, ctx.Err()
		}
		w.Restored = time.Now()
		ws = append(ws, w)
	}
	s.sink.Set(load.Healthy)
	s.logf("receiver healthy again; it refused %d requests on purpose", s.sink.Refused())
	return ws, nil
}

// duplicate re-sends what the broker's dedup would otherwise catch: the
// phase's ingested, scored and reached events and its case events, each
// under a fresh message id, as a redelivery after the two-minute dedup
// window arrives.
func duplicate(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	start := time.Now()
	var ws []Window
	for _, noun := range []string{bus.NounMentions, bus.NounCases} {
		for _, frac := range []float64{0.4, 0.8} {
			if err := s.at(ctx, start, time.Duration(frac*float64(length))-time.Second, time.Duration(frac*float64(length))); err != nil {
				return ws, err
			}
			w := Window{Fault: "re-sent " + noun, At: time.Now()}
			n, err := s.resend(ctx, noun, start)
			if err != nil {
				return ws, err
			}
			w.Restored = time.Now()
			s.logf("re-sent %d %s events under fresh message ids", n, noun)
			ws = append(ws, w)
		}
	}
	return ws, nil
}

// resend publishes again every event of noun's stream stored since since.
func (s *Suite) resend(ctx context.Context, noun string, since time.Time) (int, error) {
	stream, err := s.js.Stream(ctx, s.names.Stream(noun))
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", noun, err)
	}
	// Stop at what is stored now: the copies land in the same stream.
	info, err := stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", noun, err)
	}
	last := info.State.LastSeq
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since})
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", noun, err)
	}
	var futures []jetstream.PubAckFuture
	for {
		batch, err := cons.FetchNoWait(1000)
		if err != nil {
			return len(futures), fmt.Errorf("read %s: %w", noun, err)
		}
		n := 0
		for msg := range batch.Messages() {
			if meta, err := msg.Metadata(); err != nil || meta.Sequence.Stream > last {
				continue
			}
			n++
			f, err := s.republish(msg, noun)
			if err != nil {
				return len(futures), err
			}
			futures = append(futures, f)
		}
		if n == 0 {
			break
		}
	}
	var errs []error
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs = append(errs, err)
		case <-ctx.Done():
			return len(futures), ctx.Err()
		}
	}
	return len(futures), errors.Join(errs...)
}

func (s *Suite) republish(msg jetstream.Msg, noun string) (jetstream.PubAckFuture, error) {
	out := nats.NewMsg(msg.Subject())
	out.Data = msg.Data()
	for k, v := range msg.Headers() {
		out.Header[k] = v
	}
	seq := uint64(0)
	if meta, err := msg.Metadata(); err == nil {
		seq = meta.Sequence.Stream
	}
	out.Header.Set(nats.MsgIdHdr, fmt.Sprintf("chaos-dup:%s:%d:%d", noun, seq, time.Now().UnixNano()))
	f, err := s.js.PublishMsgAsync(out)
	if err != nil {
		return nil, fmt.Errorf("re-send on %s: %w", msg.Subject(), err)
	}
	return f, nil
}

const redisFault = "Redis restart"

// restartRedis kills Redis and starts it again from its append-only file,
// as a production Redis with persistence comes back.
func restartRedis(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	if err := s.at(ctx, time.Now(), length/5, length*2/5); err != nil {
		return nil, err
	}
	w := Window{Fault: redisFault, At: time.Now()}
	s.redis.Kill()
	s.logf("redis killed")
	time.Sleep(s.pause(500*time.Millisecond, 2*time.Second))
	if err := s.redis.Start(ctx); err != nil {
		return []Window{w}, err
	}
	w.Restored = time.Now()
	s.logf("redis back after %s", w.Restored.Sub(w.At).Round(time.Millisecond))
	return []Window{w}, nil
}
