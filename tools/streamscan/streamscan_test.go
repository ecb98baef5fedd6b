package streamscan

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/platform/bus/bustest"
)

// Each reads past one fetch's worth and stops at what the stream held when
// it began.
func TestEachReadsEveryMessageTheStreamHolds(t *testing.T) {
	srv := bustest.Server(t)
	js, err := jetstream.New(bustest.Conn(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SCAN", Subjects: []string{"scan.>"}}); err != nil {
		t.Fatal(err)
	}
	const n = 2500
	for i := range n {
		if _, err := js.PublishAsync(fmt.Sprintf("scan.%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	got := 0
	err = Each(ctx, js, "SCAN", func(msg jetstream.Msg) {
		if got == 0 {
			// Stored after the read began: not read.
			if _, err := js.Publish(ctx, "scan.late", nil); err != nil {
				t.Error(err)
			}
		}
		if msg.Subject() != fmt.Sprintf("scan.%d", got) {
			t.Errorf("message %d is %s", got, msg.Subject())
		}
		got++
	})
	if err != nil || got != n {
		t.Fatalf("read %d of %d messages, err %v", got, n, err)
	}
}

// A stream that stops answering before its last message is an error, not
// a shorter read (chaos's reader returned what it had read, so the checker
// could miss the events it exists to check).
func TestAShortReadIsAnError(t *testing.T) {
	var got []uint64
	err := read(fake{upTo: 3}.open, "FIREBREAK_CASES", 1, 5, func(msg jetstream.Msg) {
		meta, _ := msg.Metadata()
		got = append(got, meta.Sequence.Stream)
	})
	if err == nil || !strings.Contains(err.Error(), "short read") || !strings.Contains(err.Error(), "at sequence 3 of 5") {
		t.Fatalf("a read that stopped at 3 of 5 returned %v", err)
	}
	if len(got) != 3 {
		t.Errorf("read %v before it stalled, want 1 to 3", got)
	}
}

// A fetch that fails (no responders while a leader is elected) is taken up
// again from where it stopped: every message once, none skipped.
func TestAFailedFetchIsTakenUpWhereItStopped(t *testing.T) {
	failed := 0
	f := fake{upTo: 2500, failAt: map[uint64]bool{1001: true}, failed: &failed}
	var got []uint64
	err := read(f.open, "FIREBREAK_MENTIONS", 1, 2500, func(msg jetstream.Msg) {
		meta, _ := msg.Metadata()
		got = append(got, meta.Sequence.Stream)
	})
	if err != nil || failed != 1 {
		t.Fatalf("read returned %v after %d failed fetches", err, failed)
	}
	for i, seq := range got {
		if seq != uint64(i+1) {
			t.Fatalf("message %d is sequence %d: skipped or read twice", i, seq)
		}
	}
	if len(got) != 2500 {
		t.Fatalf("read %d of 2500", len(got))
	}
}

// fake is a stream holding sequences 1 to upTo; a fetch starting at a
// sequence in failAt fails once.
type fake struct {
	upTo   uint64
	failAt map[uint64]bool
	failed *int
}

func (f fake) open(from uint64) (fetcher, error) { return &consumer{f: f, next: from}, nil }

type consumer struct {
	f    fake
	next uint64
}

func (c *consumer) Fetch(n int, _ ...jetstream.FetchOpt) (jetstream.MessageBatch, error) {
	if c.f.failAt[c.next] {
		delete(c.f.failAt, c.next)
		*c.f.failed++
		return nil, errors.New("nats: no responders available for request")
	}
	msgs := make(chan jetstream.Msg, n)
	for ; c.next <= c.f.upTo && len(msgs) < n; c.next++ {
		msgs <- seqMsg{seq: c.next}
	}
	close(msgs)
	return batch(msgs), nil
}

type batch chan jetstream.Msg

func (b batch) Messages() <-chan jetstream.Msg { return b }
func (b batch) Error() error                   { return nil }

// seqMsg is a message at a stream sequence; only Metadata is used.
type seqMsg struct {
	jetstream.Msg
	seq uint64
}

func (m seqMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: m.seq}}, nil
}
