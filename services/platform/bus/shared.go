package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Releases before DeadLetterStream kept every service's dead letters in
// one stream, which any consuming service could read whole. An upgrade
// moves them: the stream owner gives the shared stream other subjects, so
// that the services' streams can take theirs, then copies each dead letter
// into its service's stream and deletes it from the shared one. The
// shared stream is left empty (the owner may not delete a stream); an
// operator may remove it with `nats stream rm FIREBREAK_DEADLETTER`.

// moveSharedAside gives the shared dead-letter stream subjects of its own,
// and returns it while it holds dead letters to move; nil when there is no
// shared stream or it is empty.
func moveSharedAside(ctx context.Context, js jetstream.JetStream, names Names) (jetstream.Stream, error) {
	name := names.SharedDeadLetterStream()
	st, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up the shared dead-letter stream %s: %w", name, err)
	}
	info := st.CachedInfo()
	aside := []string{names.sharedDeadLetterSubjects()}
	if !slices.Equal(info.Config.Subjects, aside) {
		cfg := info.Config
		cfg.Subjects = aside
		if st, err = js.UpdateStream(ctx, cfg); err != nil {
			return nil, fmt.Errorf("move the shared dead-letter stream %s off %s: %w", name, names.All(NounDeadLetter), err)
		}
	}
	if st.CachedInfo().State.Msgs == 0 {
		return nil, nil
	}
	return st, nil
}

// MoveSharedDeadLetters copies each dead letter of the shared stream into
// its service's stream, keeping its subject, headers and time (in
// HeaderDeadAt), and deletes it from the shared stream once the copy is
// stored. It returns how many it moved. A dead letter of a service with
// no stream of its own stays.
//
// A copy keeps its dead letter's message id, so a move interrupted
// between the copy and the delete and run again within the duplicate
// window stores it once.
func MoveSharedDeadLetters(ctx context.Context, js jetstream.JetStream, names Names, shared jetstream.Stream) (int, error) {
	services := DeadLetterers()
	prefix := names.DeadLetter("")
	moved := 0
	for seq := uint64(1); ; {
		raw, err := shared.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(names.All(NounDeadLetter)))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return moved, nil
		}
		if err != nil {
			return moved, fmt.Errorf("read shared dead letter from %d: %w", seq, err)
		}
		seq = raw.Sequence + 1
		if !slices.Contains(services, strings.TrimPrefix(raw.Subject, prefix)) {
			continue
		}
		msg := nats.NewMsg(raw.Subject)
		msg.Data = raw.Data
		for k, v := range raw.Header {
			msg.Header[k] = v
		}
		if msg.Header.Get(jetstream.MsgIDHeader) == "" {
			msg.Header.Set(jetstream.MsgIDHeader, "shared-deadletter:"+strconv.FormatUint(raw.Sequence, 10))
		}
		if msg.Header.Get(HeaderDeadAt) == "" {
			msg.Header.Set(HeaderDeadAt, raw.Time.UTC().Format(time.RFC3339Nano))
		}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			return moved, fmt.Errorf("copy shared dead letter %d to %s: %w", raw.Sequence, raw.Subject, err)
		}
		if err := shared.DeleteMsg(ctx, raw.Sequence); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return moved, fmt.Errorf("delete shared dead letter %d, copied to %s: %w", raw.Sequence, raw.Subject, err)
		}
		moved++
	}
}
