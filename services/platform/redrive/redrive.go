// Package redrive serves RedriveService: the messages a service's
// consumers took in a window of time, read again from their streams and
// handed to the same handlers, so that what Redis forgot after losing its
// last writes is done again. Handlers are idempotent, so what Redis kept
// is found done and changes nothing.
package redrive

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// maxWindow bounds a redrive: a Redis loses about a second, and a window
// of hours is a mistake that would re-read a stream whole.
const maxWindow = time.Hour

// maxErrors bounds the failures a response lists.
const maxErrors = 10

// Handler handles one message again and says what it found, as an
// outcome counted in the response ("" counts nothing).
type Handler func(ctx context.Context, msg jetstream.Msg) (outcome string, err error)

// Source is a stream whose messages on Subjects (a consumer's filter)
// are offered again to Handle.
type Source struct {
	Stream   string
	Subjects []string
	Handle   Handler
}

// Run is one redrive's work: its sources, in order, and what to count
// once all were offered. It is made afresh for each request, so what its
// handlers keep is that request's.
type Run struct {
	Sources []Source
	// After runs once every message was offered, and returns outcomes.
	After func(ctx context.Context) map[string]int64
}

// Server serves one service's redrives.
type Server struct {
	fbv1.UnimplementedRedriveServiceServer
	js      jetstream.JetStream
	service string
	plan    func() Run
}

// New serves service's redrives, each the Run plan makes.
func New(js jetstream.JetStream, service string, plan func() Run) *Server {
	return &Server{js: js, service: service, plan: plan}
}

// Window is a redrive's time window, by the time messages were stored.
type Window struct{ Since, Until time.Time }

// Redrive offers every message of the window again, stream by stream, in
// order, and reports what was offered and found.
func (s *Server) Redrive(ctx context.Context, req *fbv1.RedriveRequest) (*fbv1.RedriveResponse, error) {
	w, err := window(req, time.Now())
	if err != nil {
		return nil, err
	}
	resp := &fbv1.RedriveResponse{Service: s.service, Outcomes: map[string]int64{}}
	run := s.plan()
	for _, src := range run.Sources {
		rs, err := s.offer(ctx, src, w, resp.Outcomes)
		resp.Streams = append(resp.Streams, rs)
		if err != nil {
			return nil, status.Errorf(codes.Unavailable, "%s: read %s: %v; run the redrive again (what was offered is found done)", s.service, src.Stream, err)
		}
	}
	if run.After != nil {
		for k, v := range run.After(ctx) {
			resp.Outcomes[k] += v
		}
	}
	return resp, nil
}

// window checks a request's window.
func window(req *fbv1.RedriveRequest, now time.Time) (Window, error) {
	if req.GetSince() == nil {
		return Window{}, status.Error(codes.InvalidArgument, "since is missing: give the time a few seconds before Redis lost its writes")
	}
	w := Window{Since: req.Since.AsTime(), Until: now}
	if req.GetUntil() != nil {
		w.Until = req.Until.AsTime()
	}
	switch {
	case !w.Since.Before(w.Until):
		return Window{}, status.Errorf(codes.InvalidArgument, "since %s is not before until %s", w.Since.Format(time.RFC3339), w.Until.Format(time.RFC3339))
	case w.Until.Sub(w.Since) > maxWindow:
		return Window{}, status.Errorf(codes.InvalidArgument, "a window of %s is longer than %s: Redis loses about a second of writes; give the seconds around the loss", w.Until.Sub(w.Since), maxWindow)
	}
	return w, nil
}

// offer hands src's messages of the window to its handler, one by one,
// reading them by sequence (no consumer is made on the stream).
func (s *Server) offer(ctx context.Context, src Source, w Window, outcomes map[string]int64) (*fbv1.RedriveStream, error) {
	rs := &fbv1.RedriveStream{Stream: src.Stream}
	st, err := s.js.Stream(ctx, src.Stream)
	if err != nil {
		return rs, err
	}
	state := st.CachedInfo().State
	all := wildcard(src.Subjects)
	seq, err := firstAtOrAfter(ctx, st, all, state.FirstSeq, state.LastSeq, w.Since)
	if err != nil {
		return rs, err
	}
	// Stop at what is stored now: what comes after is the consumers'.
	for seq <= state.LastSeq {
		raw, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(all))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return rs, err
		}
		if raw.Sequence > state.LastSeq || raw.Time.After(w.Until) {
			break
		}
		seq = raw.Sequence + 1
		if !matchesAny(src.Subjects, raw.Subject) {
			continue
		}
		if rs.FirstSequence == 0 {
			rs.FirstSequence = raw.Sequence
		}
		rs.LastSequence = raw.Sequence
		rs.Offered++
		outcome, err := src.Handle(ctx, message{raw: raw, stream: src.Stream})
		if err != nil {
			rs.Failed++
			if len(rs.Errors) < maxErrors {
				rs.Errors = append(rs.Errors, fmt.Sprintf("%d (%s): %v", raw.Sequence, raw.Subject, err))
			}
			continue
		}
		if outcome != "" {
			outcomes[outcome]++
		}
	}
	return rs, nil
}

// firstAtOrAfter is the first sequence from which the next message on
// subject was stored at since or later, by binary search: sequences are
// stored in time order.
func firstAtOrAfter(ctx context.Context, st jetstream.Stream, subject string, first, last uint64, since time.Time) (uint64, error) {
	lo, hi := first, last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		raw, err := st.GetMsg(ctx, mid, jetstream.WithGetMsgSubject(subject))
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			hi = mid
		case err != nil:
			return 0, err
		case raw.Time.Before(since):
			lo = raw.Sequence + 1
		default:
			hi = mid
		}
	}
	return lo, nil
}

// wildcard is the narrowest one subject that takes every one of subjects:
// their common leading tokens, then ">".
func wildcard(subjects []string) string {
	if len(subjects) == 1 {
		return subjects[0]
	}
	common := strings.Split(subjects[0], ".")
	for _, s := range subjects[1:] {
		tokens := strings.Split(s, ".")
		n := 0
		for n < len(common) && n < len(tokens) && common[n] == tokens[n] && common[n] != ">" && common[n] != "*" {
			n++
		}
		common = common[:n]
	}
	return strings.Join(append(slices.Clone(common), ">"), ".")
}

// matchesAny reports whether one of filters (with * and >) takes subject.
func matchesAny(filters []string, subject string) bool {
	return slices.ContainsFunc(filters, func(f string) bool { return bus.SubjectMatches(f, subject) })
}

// message is a stored message handed to a handler as a first delivery:
// a handler that finds the work done does not publish its outputs again,
// since a message it acked had them published. Acks go nowhere.
type message struct {
	raw    *jetstream.RawStreamMsg
	stream string
}

var _ jetstream.Msg = message{}

// Offered reports whether msg is a stored message a redrive handed over:
// its outputs, if the work is found done, were published before it was
// first acked, so they are not published again. A message from a
// consumer cannot say that (a consumer whose leader died delivers again,
// as a first delivery, a message that may have failed).
func Offered(msg jetstream.Msg) bool {
	_, ok := msg.(message)
	return ok
}

func (m message) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{
		Sequence: jetstream.SequencePair{Stream: m.raw.Sequence}, NumDelivered: 1, Stream: m.stream, Timestamp: m.raw.Time,
	}, nil
}
func (m message) Data() []byte                     { return m.raw.Data }
func (m message) Headers() nats.Header             { return m.raw.Header }
func (m message) Subject() string                  { return m.raw.Subject }
func (m message) Reply() string                    { return "" }
func (m message) Ack() error                       { return nil }
func (m message) DoubleAck(context.Context) error  { return nil }
func (m message) Nak() error                       { return nil }
func (m message) NakWithDelay(time.Duration) error { return nil }
func (m message) InProgress() error                { return nil }
func (m message) Term() error                      { return nil }
func (m message) TermWithReason(string) error      { return nil }
