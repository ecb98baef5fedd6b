package chaos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/tools/load"
)

// Faults is the suite's schedule: one phase per fault. A phase's Length,
// when set, is longer than the default because its outage is. Redis comes
// back from its append-only files, so it should forget nothing; the
// checker asks for every decision again at the end of the run to prove it.
func Faults() []Fault {
	return []Fault{
		{Name: "none (baseline)"},
		{Name: "SIGKILL a replica of each", Inject: killReplicas, Length: 30 * time.Second},
		{Name: "SIGKILL every service", Inject: killEveryService},
		{Name: "SIGKILL NATS leaders x10", Inject: killLeaders, Length: 40 * time.Second},
		{Name: "NATS node down 30s", Inject: nodeDown, Length: 45 * time.Second},
		{Name: "receiver slow/500/429/flap", Inject: misbehave},
		{Name: "receiver 500 60s, Retry-After 10", Inject: receiverDown, Length: 80 * time.Second},
		{Name: "duplicates + redelivery", Inject: duplicate},
		// Its poison messages are meant to be dead-lettered.
		{Name: "dead-letter publish fails", Inject: deadLetterRefused, Length: 40 * time.Second, Expect: Expected{DeadLetters: true}},
		{Name: "streams full (discard new)", Inject: streamsFull},
		{Name: "Redis down 30s", Inject: redisDown, Length: 45 * time.Second},
		{Name: "Redis primary failover", Inject: redisFailover},
		{Name: redisFault, Inject: restartRedisEverysec},
	}
}

// at waits until a random moment in [from, to) of the phase.
func (s *Suite) at(ctx context.Context, start time.Time, from, to time.Duration) error {
	s.mu.Lock()
	d := from + time.Duration(s.rng.Int64N(int64(to-from)))
	s.mu.Unlock()
	return sleep(ctx, time.Until(start.Add(d)))
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
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

func (s *Suite) intn(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(n)
}

// restored closes w and logs how long the outage lasted.
func (s *Suite) restored(w Window) Window {
	w.Restored = time.Now()
	s.logf("%s: whole again after %s", w.Fault, w.Restored.Sub(w.At).Round(time.Millisecond))
	return w
}

// killReplicas SIGKILLs one replica of each service in turn, at random
// moments spread over the phase, restarting each after a random outage.
func killReplicas(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	start := time.Now()
	slot := length / time.Duration(len(Services)+1)
	var ws []Window
	for i, name := range Services {
		if err := s.at(ctx, start, slot*time.Duration(i)+slot/4, slot*time.Duration(i+1)); err != nil {
			return ws, err
		}
		p := s.services[name][s.intn(Replicas)]
		w := Window{Fault: "SIGKILL " + p.Name, At: time.Now()}
		p.Kill()
		if err := sleep(ctx, s.pause(300*time.Millisecond, 3*time.Second)); err != nil {
			return ws, err
		}
		if err := p.Start(ctx); err != nil {
			return ws, fmt.Errorf("restart %s: %w", p.Name, err)
		}
		ws = append(ws, s.restored(w))
	}
	return ws, nil
}

// killEveryService SIGKILLs every replica of every service at once, then
// starts them all again.
func killEveryService(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	if err := s.at(ctx, time.Now(), length/5, length*2/5); err != nil {
		return nil, err
	}
	w := Window{Fault: "SIGKILL every service", At: time.Now()}
	var wg sync.WaitGroup
	for _, ps := range s.services {
		for _, p := range ps {
			wg.Go(p.Kill)
		}
	}
	wg.Wait()
	if err := sleep(ctx, s.pause(time.Second, 3*time.Second)); err != nil {
		return nil, err
	}
	for _, name := range Services {
		errs := make([]error, Replicas)
		for i, p := range s.services[name] {
			wg.Go(func() { errs[i] = p.Start(ctx) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return []Window{w}, fmt.Errorf("restart %s: %w", name, err)
		}
	}
	return []Window{s.restored(w)}, nil
}

// killLeaders SIGKILLs, ten times, the node leading the JetStream meta
// group or a stream, and restarts it once another node has taken over;
// each restart waits until the node is current again, so the cluster never
// loses its quorum.
func killLeaders(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	var ws []Window
	if err := sleep(ctx, s.pause(length/20, length/10)); err != nil {
		return ws, err
	}
	for i := range 10 {
		what, leader, err := s.leader(ctx, i)
		if err != nil {
			return ws, err
		}
		n := s.cluster.Index(leader)
		if n < 0 {
			return ws, fmt.Errorf("the %s leader %q is not a node of the cluster", what, leader)
		}
		w := Window{Fault: fmt.Sprintf("SIGKILL %s leader %s", what, leader), At: time.Now()}
		s.cluster.Kill(n)
		if err := sleep(ctx, s.pause(200*time.Millisecond, 1500*time.Millisecond)); err != nil {
			return ws, err
		}
		if err := s.cluster.Restart(ctx, n); err != nil {
			return ws, err
		}
		ws = append(ws, s.restored(w))
	}
	return ws, nil
}

// leader names the i-th target of killLeaders: the meta leader on even
// turns, the leader of the mentions or cases stream on odd ones; with
// mention partitions, of a partition's stream chosen at random each time.
func (s *Suite) leader(ctx context.Context, i int) (what, name string, err error) {
	p := 0
	if leaderNoun(i) == bus.NounMentions {
		p = s.somePartition()
	}
	what, stream := leaderTarget(s.names, i, p)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if stream == "" {
			name, err = s.cluster.MetaLeader(ctx)
		} else {
			name, err = s.streamLeader(ctx, stream)
		}
		if err == nil {
			return what, name, nil
		}
		if time.Now().After(deadline) {
			return what, "", err
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return what, "", err
		}
	}
}

// leaderNoun is the noun whose stream killLeaders aims at on turn i, ""
// on the meta leader's turns.
func leaderNoun(i int) string {
	if i%2 == 0 {
		return ""
	}
	return []string{bus.NounMentions, bus.NounCases}[i/2%2]
}

// leaderTarget is what killLeaders kills on turn i, with p the mention
// partition to aim at when it is the mentions' turn: the meta leader (no
// stream) or the leader of stream. Without partitions the mentions are
// named as they always were, "mentions stream".
func leaderTarget(names bus.Names, i, p int) (what, stream string) {
	noun := leaderNoun(i)
	switch {
	case noun == "":
		return "meta", ""
	case noun == bus.NounMentions && names.MentionPartitions() > 1:
		stream = names.MentionStream(p)
		return noun + " stream " + stream, stream
	default:
		return noun + " stream", names.Stream(noun)
	}
}

// somePartition picks a mention partition at random. With one partition
// it draws nothing, so an unpartitioned run's fault schedule is what its
// seed always gave.
func (s *Suite) somePartition() int {
	if n := s.names.MentionPartitions(); n > 1 {
		return s.intn(n)
	}
	return 0
}

// streamsOf are the streams holding noun's events: one per mention
// partition for the mentions, the noun's one stream otherwise.
func streamsOf(names bus.Names, noun string) []string {
	if noun == bus.NounMentions {
		return names.MentionStreams()
	}
	return []string{names.Stream(noun)}
}

func (s *Suite) streamLeader(ctx context.Context, stream string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		return "", fmt.Errorf("stream %s: %w", stream, err)
	}
	info := st.CachedInfo()
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return "", fmt.Errorf("stream %s has no leader", stream)
	}
	return info.Cluster.Leader, nil
}

// nodeDown SIGKILLs a NATS node and keeps it down for 30 seconds.
func nodeDown(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	if err := s.at(ctx, time.Now(), 2*time.Second, 5*time.Second); err != nil {
		return nil, err
	}
	n := s.intn(3)
	w := Window{Fault: "NATS node " + s.cluster.Name(n) + " down 30s", At: time.Now()}
	s.cluster.Kill(n)
	if err := sleep(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	if err := s.cluster.Restart(ctx, n); err != nil {
		return []Window{w}, err
	}
	return []Window{s.restored(w)}, nil
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

// resend publishes again every event of noun's streams (every mention
// partition's) stored since since.
func (s *Suite) resend(ctx context.Context, noun string, since time.Time) (int, error) {
	total := 0
	for _, name := range streamsOf(s.names, noun) {
		n, err := s.resendFrom(ctx, name, since)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// resendFrom publishes again every event of the stream name stored since
// since.
func (s *Suite) resendFrom(ctx context.Context, name string, since time.Time) (int, error) {
	stream, err := s.js.Stream(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", name, err)
	}
	// Stop at what is stored now: the copies land in the same stream.
	info, err := stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", name, err)
	}
	last := info.State.LastSeq
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since})
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", name, err)
	}
	var futures []jetstream.PubAckFuture
	for {
		batch, err := cons.FetchNoWait(1000)
		if err != nil {
			return len(futures), fmt.Errorf("read %s: %w", name, err)
		}
		n := 0
		for msg := range batch.Messages() {
			if meta, err := msg.Metadata(); err != nil || meta.Sequence.Stream > last {
				continue
			}
			n++
			f, err := s.republish(msg, name)
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
	// An ack lost with a killed node never comes: bound the wait.
	acks, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs = append(errs, err)
		case <-acks.Done():
			return len(futures), fmt.Errorf("acks of the re-sent %s events: %w", name, acks.Err())
		}
	}
	return len(futures), errors.Join(errs...)
}

// republish sends msg again under a fresh message id; the id names its
// stream, as sequences are per stream.
func (s *Suite) republish(msg jetstream.Msg, stream string) (jetstream.PubAckFuture, error) {
	out := nats.NewMsg(msg.Subject())
	out.Data = msg.Data()
	for k, v := range msg.Headers() {
		out.Header[k] = v
	}
	seq := uint64(0)
	if meta, err := msg.Metadata(); err == nil {
		seq = meta.Sequence.Stream
	}
	out.Header.Set(nats.MsgIdHdr, fmt.Sprintf("chaos-dup:%s:%d:%d", stream, seq, time.Now().UnixNano()))
	f, err := s.js.PublishMsgAsync(out)
	if err != nil {
		return nil, fmt.Errorf("re-send on %s: %w", msg.Subject(), err)
	}
	return f, nil
}

// receiverDown makes the receiver answer 500 for 60 seconds, then 429
// with Retry-After: 10 for a while, then heals it.
func receiverDown(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	if err := sleep(ctx, s.pause(time.Second, 3*time.Second)); err != nil {
		return nil, err
	}
	defer s.sink.Set(load.Healthy)
	var ws []Window
	w := Window{Fault: "receiver 500 for 60s", At: time.Now()}
	s.sink.Set(load.Failing)
	if err := sleep(ctx, 60*time.Second); err != nil {
		return ws, err
	}
	ws = append(ws, s.restored(w))
	w = Window{Fault: "receiver 429 Retry-After: 10", At: time.Now()}
	s.sink.SetRetryAfter(10 * time.Second)
	defer s.sink.SetRetryAfter(time.Second)
	s.sink.Set(load.Throttling)
	if err := sleep(ctx, 12*time.Second); err != nil {
		return ws, err
	}
	s.sink.Set(load.Healthy)
	ws = append(ws, s.restored(w))
	s.logf("receiver healthy again; it refused %d requests on purpose", s.sink.Refused())
	return ws, nil
}

// PoisonHeader marks the messages the dead-letter fault publishes: they
// cannot be decoded, so every consumer must dead-letter them. Their dead
// letters are meant, not a failure.
const PoisonHeader = "Chaos-Poison"

// deadLetterRefused deletes the dead-letter streams, so that publishing a
// dead letter fails, and publishes messages every consumer must
// dead-letter. While the streams are gone a consumer must keep the message
// (redeliver it) rather than ack it; once they are back, each poison
// message must reach them once per consumer that reads its subject.
func deadLetterRefused(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	if err := s.at(ctx, time.Now(), time.Second, 3*time.Second); err != nil {
		return nil, err
	}
	callCtx, cancel := context.WithTimeout(ctx, jsCall)
	defer cancel()
	var cfgs []jetstream.StreamConfig
	for _, service := range bus.DeadLetterers() {
		name := s.names.DeadLetterStream(service)
		st, err := s.js.Stream(callCtx, name)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		cfgs = append(cfgs, st.CachedInfo().Config)
	}
	w := Window{Fault: "dead-letter streams deleted", At: time.Now()}
	for _, cfg := range cfgs {
		if err := s.js.DeleteStream(callCtx, cfg.Name); err != nil {
			return nil, fmt.Errorf("delete %s: %w", cfg.Name, err)
		}
	}
	var poison []poisoned
	for i := range 10 {
		subject := poisonSubject(s.names, i)
		msg := nats.NewMsg(subject)
		msg.Data = []byte("\xff\xff chaos: not a protobuf message")
		msg.Header.Set(PoisonHeader, "true")
		msg.Header.Set(nats.MsgIdHdr, fmt.Sprintf("chaos-poison:%d:%d", time.Now().UnixNano(), i))
		pubCtx, cancel := context.WithTimeout(ctx, jsCall)
		ack, err := s.js.PublishMsg(pubCtx, msg)
		cancel()
		if err != nil {
			return []Window{w}, fmt.Errorf("publish a poison message: %w", err)
		}
		poison = append(poison, poisoned{stream: ack.Stream, subject: subject, seq: ack.Sequence})
	}
	expected, subjects, readers, err := s.poisonReaders(ctx, poison)
	if err != nil {
		return []Window{w}, err
	}
	s.logf("dead-letter streams deleted; %d poison messages published on %s, read by %v", len(poison), strings.Join(subjects, ", "), readers)
	if err := sleep(ctx, 10*time.Second); err != nil {
		return []Window{w}, err
	}
	createCtx, cancel := context.WithTimeout(ctx, jsCall)
	defer cancel()
	for _, cfg := range cfgs {
		if _, err := s.js.CreateStream(createCtx, cfg); err != nil {
			return []Window{w}, fmt.Errorf("create %s again: %w", cfg.Name, err)
		}
	}
	ws := []Window{s.restored(w)}
	// A consumer that failed to dead-letter naks with its backoff, which
	// doubles from half a second on each try: the ones during the outage
	// add up to about 16 s.
	deadline := time.Now().Add(90 * time.Second)
	for {
		got, err := s.deadLettersOf(ctx, poison)
		if err == nil && got == expected {
			s.logf("every poison message dead-lettered once per consumer (%d) once the stream was back", got)
			return ws, nil
		}
		if time.Now().After(deadline) {
			return ws, fmt.Errorf("dead letters of the poison messages: %d of %d, 90s after the dead-letter stream was back (%v): a consumer acked a message whose dead letter it could not publish", got, expected, err)
		}
		if err := sleep(ctx, time.Second); err != nil {
			return ws, err
		}
	}
}

// poisoned is a poison message as stored: its stream, subject and
// sequence, which its dead letters' headers name.
type poisoned struct {
	stream, subject string
	seq             uint64
}

// poisonSubject is the subject of the i-th poison message: an ingested
// mention's, in partition i mod the partitions, so that every partition's
// consumers meet poison.
func poisonSubject(names bus.Names, i int) string {
	return names.InPartition(names.Ingested("x"), i%names.MentionPartitions())
}

// poisonKey identifies a poison message in its dead letters: sequences are
// per stream, so with mention partitions the stream is part of the key.
func poisonKey(stream, seq string) string { return stream + "/" + seq }

// poisonReaders asks which consumers read the poison messages: how many
// dead letters they must make in all (one per message per consumer
// reading its stream and subject), the subjects, and the consumers' names.
func (s *Suite) poisonReaders(ctx context.Context, poison []poisoned) (expected int, subjects, names []string, err error) {
	byStream := map[string][]string{}
	for _, m := range poison {
		readers, ok := byStream[m.stream]
		if !ok {
			if readers, err = s.readersOf(ctx, m.stream, m.subject); err != nil {
				return 0, nil, nil, err
			}
			byStream[m.stream] = readers
			subjects = append(subjects, m.subject)
			for _, r := range readers {
				if !slices.Contains(names, r) {
					names = append(names, r)
				}
			}
		}
		expected += len(readers)
	}
	return expected, subjects, names, nil
}

// readersOf names the durable consumers on the stream whose filter takes
// subject.
func (s *Suite) readersOf(ctx context.Context, stream, subject string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, jsCall)
	defer cancel()
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	var out []string
	lister := st.ListConsumers(ctx)
	for info := range lister.Info() {
		filters := append([]string{info.Config.FilterSubject}, info.Config.FilterSubjects...)
		for _, f := range filters {
			if f != "" && bus.SubjectMatches(f, subject) {
				out = append(out, info.Name)
				break
			}
		}
	}
	return out, lister.Err()
}

// deadLettersOf counts the distinct dead letters of the poison messages,
// by the stream and sequence their headers name.
func (s *Suite) deadLettersOf(ctx context.Context, poison []poisoned) (int, error) {
	want := map[string]bool{}
	for _, m := range poison {
		want[poisonKey(m.stream, strconv.FormatUint(m.seq, 10))] = true
	}
	ids := map[string]bool{}
	err := s.eachDeadLetter(ctx, func(msg jetstream.Msg) {
		h := msg.Headers()
		if want[poisonKey(h.Get(bus.HeaderDeadStream), h.Get(bus.HeaderDeadSeq))] {
			ids[h.Get(nats.MsgIdHdr)] = true
		}
	})
	return len(ids), err
}

// streamsFull sets the mentions and cases streams (every mention
// partition's) to their current size with discard new, as a full disk or
// an exhausted budget leaves them: every publish fails until the budget is
// raised again. Publishers must wait and retry, not drop.
func streamsFull(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	if err := s.at(ctx, time.Now(), length/10, length/5); err != nil {
		return nil, err
	}
	w := Window{Fault: "mentions and cases streams full", At: time.Now()}
	var saved []jetstream.StreamConfig
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	restore := func() error {
		var errs []error
		for _, cfg := range saved {
			if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
				errs = append(errs, fmt.Errorf("restore %s: %w", cfg.Name, err))
			}
		}
		return errors.Join(errs...)
	}
	for _, name := range fullStreams(s.names) {
		st, err := s.js.Stream(ctx, name)
		if err != nil {
			return nil, errors.Join(err, restore())
		}
		info, err := st.Info(ctx)
		if err != nil {
			return nil, errors.Join(err, restore())
		}
		full := info.Config
		full.MaxBytes, full.Discard = int64(info.State.Bytes), jetstream.DiscardNew
		if _, err := s.js.UpdateStream(ctx, full); err != nil {
			return nil, errors.Join(fmt.Errorf("fill %s: %w", full.Name, err), restore())
		}
		saved = append(saved, info.Config)
		s.logf("stream %s full at %d bytes, discard new", full.Name, full.MaxBytes)
	}
	if err := sleep(ctx, 10*time.Second); err != nil {
		return nil, errors.Join(err, restore())
	}
	if err := restore(); err != nil {
		return []Window{w}, err
	}
	return []Window{s.restored(w)}, nil
}

// fullStreams are the streams streamsFull fills: every mention
// partition's, then the cases stream.
func fullStreams(names bus.Names) []string {
	return append(streamsOf(names, bus.NounMentions), streamsOf(names, bus.NounCases)...)
}

// redisDown SIGKILLs every node of the Redis Cluster and keeps them down
// for 30 seconds.
func redisDown(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	if err := s.at(ctx, time.Now(), 2*time.Second, 5*time.Second); err != nil {
		return nil, err
	}
	w := Window{Fault: "Redis Cluster down 30s", At: time.Now()}
	s.redis.KillAll()
	if err := sleep(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	if err := s.redis.StartAll(ctx); err != nil {
		return []Window{w}, err
	}
	return []Window{s.restored(w)}, nil
}

// redisFailover SIGKILLs a primary of the Redis Cluster; its replica takes
// over after the node timeout. The old primary comes back as a replica.
func redisFailover(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	if err := s.at(ctx, time.Now(), length/10, length/4); err != nil {
		return nil, err
	}
	// An earlier fault may have restarted the nodes: the replica must
	// have its primary's data, or it does not take over.
	if err := s.redis.WaitSynced(ctx, 60*time.Second); err != nil {
		return nil, err
	}
	n, err := s.redis.Primary(ctx, s.intn(3))
	if err != nil {
		return nil, err
	}
	w := Window{Fault: "Redis primary " + s.redis.Addrs[n] + " SIGKILLed", At: time.Now()}
	s.redis.Nodes[n].Kill()
	if err := s.redis.WaitFailover(ctx, n, 60*time.Second); err != nil {
		return []Window{w}, fmt.Errorf("no failover: %w", err)
	}
	w = s.restored(w)
	if err := s.redis.Nodes[n].Start(ctx); err != nil {
		return []Window{w}, err
	}
	// The old primary must come back as a replica of its successor,
	// dropping what it had and the successor lacks.
	if err := s.redis.WaitRole(ctx, n, "slave", 60*time.Second); err != nil {
		return []Window{w}, err
	}
	return []Window{w}, s.redis.WaitOK(ctx, 60*time.Second)
}

const redisFault = "Redis restart (fsync everysec)"

// redrive calls RedriveService as `firebreak redrive --since since` does:
// the notifier's first, so the delivery marks Redis lost are back before
// escalation publishes a case event again, over the window up to now. A
// service still reconnecting to Redis is asked again, for up to a minute.
func (s *Suite) redrive(ctx context.Context, since time.Time) error {
	req := &fbv1.RedriveRequest{Since: timestamppb.New(since), Until: timestamppb.Now()}
	for _, name := range []string{"notifier", "escalation"} {
		conn, err := rpc.Dial(s.grpcAddrs[name], s.token)
		if err != nil {
			return fmt.Errorf("dial %s to redrive: %w", name, err)
		}
		resp, err := s.redriveOne(ctx, fbv1.NewRedriveServiceClient(conn), req, name)
		conn.Close()
		if err != nil {
			return err
		}
		var failed int64
		for _, st := range resp.Streams {
			failed += st.Failed
		}
		s.logf("redrive %s since %s: %v, %d failed", name, since.Format("15:04:05.000"), resp.Outcomes, failed)
	}
	return nil
}

func (s *Suite) redriveOne(ctx context.Context, c fbv1.RedriveServiceClient, req *fbv1.RedriveRequest, name string) (*fbv1.RedriveResponse, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := c.Redrive(ctx, req)
		if err == nil {
			return resp, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("redrive %s: %w", name, err)
		}
		s.logf("redrive %s not answered yet: %v", name, err)
		if err := sleep(ctx, time.Second); err != nil {
			return nil, err
		}
	}
}

// restartRedisEverysec switches every Redis node to appendfsync everysec,
// lets traffic run, then SIGKILLs the whole cluster and starts it again
// from its append-only files. A killed process loses nothing its kernel
// already has; with Options.RedisPowerLoss the machine's power goes too:
// every node's append-only file loses its last second of writes, the
// window everysec leaves unfsynced.
func restartRedisEverysec(ctx context.Context, s *Suite, length time.Duration) ([]Window, error) {
	if err := s.redis.SetFsync(ctx, "everysec"); err != nil {
		return nil, err
	}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	tails := s.redis.aofTails(sampleCtx)
	if err := s.at(ctx, time.Now(), length/5, length*2/5); err != nil {
		return nil, err
	}
	what := "Redis Cluster SIGKILLed (everysec)"
	if s.opts.RedisPowerLoss {
		what = "Redis Cluster power loss (everysec, last 1s of writes lost)"
	}
	w := Window{Fault: what, At: time.Now()}
	s.redis.KillAll()
	stopSampling()
	if s.opts.RedisPowerLoss {
		cut, err := tails.truncateTo(w.At.Add(-time.Second))
		if err != nil {
			return []Window{w}, err
		}
		s.logf("power loss: cut %d bytes written in the last second from the append-only files", cut)
	}
	if err := sleep(ctx, s.pause(500*time.Millisecond, 2*time.Second)); err != nil {
		return nil, err
	}
	// The nodes start with their command line's appendfsync always again.
	if err := s.redis.StartAll(ctx); err != nil {
		return []Window{w}, err
	}
	if s.opts.Redrive {
		// What an operator does after such a crash (README, "Redis lost
		// its last writes"): `firebreak redrive` from a few seconds before
		// it, which offers the window's messages again to the notifier
		// and then to escalation.
		if err := s.redrive(ctx, w.At.Add(-3*time.Second)); err != nil {
			return []Window{w}, err
		}
	}
	return []Window{s.restored(w)}, nil
}
