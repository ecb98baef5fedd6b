// Package deadletter serves DeadLetterService: a service's dead letters
// listed, read and replayed through the service's own handler, so an
// operator can take back what a service gave up on once its cause is
// fixed.
package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// Page sizes of ListDeadLetters.
const (
	defaultPage = 100
	maxPage     = 500
)

// Server serves one service's dead letters.
type Server struct {
	fbv1.UnimplementedDeadLetterServiceServer
	js      jetstream.JetStream
	names   bus.Names
	service string
	handle  bus.Handler
}

// New serves the dead letters of service, replayed through handle: the
// handler of the consumer that gave up on them.
func New(js jetstream.JetStream, names bus.Names, service string, handle bus.Handler) *Server {
	return &Server{js: js, names: names, service: service, handle: handle}
}

func (s *Server) stream(ctx context.Context) (jetstream.Stream, error) {
	st, err := s.js.Stream(ctx, s.names.DeadLetterStream(s.service))
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "dead-letter stream: %v", err)
	}
	return st, nil
}

// ListDeadLetters lists the service's dead letters, oldest first.
func (s *Server) ListDeadLetters(ctx context.Context, req *fbv1.ListDeadLettersRequest) (*fbv1.ListDeadLettersResponse, error) {
	size := int(req.GetPageSize())
	switch {
	case size < 0 || size > maxPage:
		return nil, status.Errorf(codes.InvalidArgument, "page_size %d: use 1 to %d", size, maxPage)
	case size == 0:
		size = defaultPage
	}
	st, err := s.stream(ctx)
	if err != nil {
		return nil, err
	}
	resp := &fbv1.ListDeadLettersResponse{}
	for seq := req.GetAfter() + 1; len(resp.DeadLetters) < size; {
		raw, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(s.names.DeadLetter(s.service)))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return resp, nil
		}
		if err != nil {
			return nil, status.Errorf(codes.Unavailable, "read dead letters of %s from %d: %v", s.service, seq, err)
		}
		resp.DeadLetters = append(resp.DeadLetters, s.summary(raw))
		seq = raw.Sequence + 1
	}
	resp.Next = resp.DeadLetters[len(resp.DeadLetters)-1].Sequence
	return resp, nil
}

// GetDeadLetter returns one dead letter with its message.
func (s *Server) GetDeadLetter(ctx context.Context, req *fbv1.GetDeadLetterRequest) (*fbv1.GetDeadLetterResponse, error) {
	_, raw, err := s.get(ctx, req.GetSequence())
	if err != nil {
		return nil, err
	}
	return &fbv1.GetDeadLetterResponse{DeadLetter: s.full(raw)}, nil
}

// ReplayDeadLetter hands the message to the service's handler again, as it
// first arrived, and deletes the dead letter once the handler succeeds.
// Handlers are idempotent, so a replay of work done meanwhile changes
// nothing.
func (s *Server) ReplayDeadLetter(ctx context.Context, req *fbv1.ReplayDeadLetterRequest) (*fbv1.ReplayDeadLetterResponse, error) {
	st, raw, err := s.get(ctx, req.GetSequence())
	if err != nil {
		return nil, err
	}
	if err := s.handle(ctx, replayed{raw}); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "dead letter %d of %s failed again and stays: %v", raw.Sequence, s.service, err)
	}
	if err := st.DeleteMsg(ctx, raw.Sequence); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, status.Errorf(codes.Unavailable, "dead letter %d was handled, but deleting it failed (a second replay is harmless): %v", raw.Sequence, err)
	}
	return &fbv1.ReplayDeadLetterResponse{DeadLetter: s.summary(raw)}, nil
}

// get reads dead letter seq, which must be this service's.
func (s *Server) get(ctx context.Context, seq uint64) (jetstream.Stream, *jetstream.RawStreamMsg, error) {
	if seq == 0 {
		return nil, nil, status.Error(codes.InvalidArgument, "sequence is missing: take it from ListDeadLetters (firebreak deadletters list)")
	}
	st, err := s.stream(ctx)
	if err != nil {
		return nil, nil, err
	}
	raw, err := st.GetMsg(ctx, seq)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, nil, status.Errorf(codes.NotFound, "no dead letter %d: it was replayed, or has expired", seq)
	case err != nil:
		return nil, nil, status.Errorf(codes.Unavailable, "read dead letter %d: %v", seq, err)
	case raw.Subject != s.names.DeadLetter(s.service):
		return nil, nil, status.Errorf(codes.NotFound, "dead letter %d is not %s's; ask the service that gave up on it", seq, s.service)
	}
	return st, raw, nil
}

func (s *Server) summary(raw *jetstream.RawStreamMsg) *fbv1.DeadLetter {
	h := raw.Header
	deliveries, _ := strconv.Atoi(h.Get(bus.HeaderDeadCount))
	at := raw.Time
	if first, err := time.Parse(time.RFC3339Nano, h.Get(bus.HeaderDeadAt)); err == nil {
		at = first // moved from the shared stream of an earlier release
	}
	return &fbv1.DeadLetter{
		Sequence: raw.Sequence, Service: s.service, Subject: h.Get(bus.HeaderDeadSubject), Reason: h.Get(bus.HeaderDeadReason),
		Deliveries: int32(deliveries), At: timestamppb.New(at), EventType: h.Get(bus.HeaderEvent),
		MentionId: h.Get(bus.HeaderMentionID), CaseId: h.Get(bus.HeaderCaseID),
	}
}

func (s *Server) full(raw *jetstream.RawStreamMsg) *fbv1.DeadLetter {
	d := s.summary(raw)
	d.Data = raw.Data
	d.Headers = map[string]string{}
	for k, v := range raw.Header {
		if len(v) > 0 {
			d.Headers[k] = v[0]
		}
	}
	return d
}

// replayed is a dead letter handed to a handler as the message it was:
// its first subject, headers and data. Acks go nowhere; the replay's
// result is the handler's.
type replayed struct{ raw *jetstream.RawStreamMsg }

var _ jetstream.Msg = replayed{}

func (m replayed) Metadata() (*jetstream.MsgMetadata, error) {
	return nil, fmt.Errorf("a replayed dead letter has no delivery metadata")
}
func (m replayed) Data() []byte                     { return m.raw.Data }
func (m replayed) Headers() nats.Header             { return m.raw.Header }
func (m replayed) Subject() string                  { return m.raw.Header.Get(bus.HeaderDeadSubject) }
func (m replayed) Reply() string                    { return "" }
func (m replayed) Ack() error                       { return nil }
func (m replayed) DoubleAck(context.Context) error  { return nil }
func (m replayed) Nak() error                       { return nil }
func (m replayed) NakWithDelay(time.Duration) error { return nil }
func (m replayed) InProgress() error                { return nil }
func (m replayed) Term() error                      { return nil }
func (m replayed) TermWithReason(string) error      { return nil }
