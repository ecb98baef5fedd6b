package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/firebreak/firebreak/services/ingest/mention"
	"github.com/firebreak/firebreak/services/platform/auth"
)

// errorBody is the JSON of every refused request.
type errorBody struct {
	Error string `json:"error"`
	Index *int   `json:"index,omitempty"`
}

// acceptedBody is the JSON of a 202: a struct, not a map, which would cost
// its encoding a map and a sort on every request.
type acceptedBody struct {
	Accepted []Accepted `json:"accepted"`
}

// httpHandler is POST /v1/mentions, served behind auth.Require. Its checks
// run cheapest first, and the caller, its key's rate and the in-flight
// bound all before the body is read, so a refused request costs neither
// memory nor parsing.
func (s *Service) httpHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := auth.FromContext(r.Context())
		key := caller.Subject
		if err := s.guard.mayStart(key, s.clock.Now()); err != nil {
			refuseUnread(w, err)
			return
		}
		if err := s.guard.enter(); err != nil {
			refuseUnread(w, err)
			return
		}
		defer s.guard.release()
		release, ok := s.reserveBody(w, r, s.cfg.MaxBodyBytes)
		if !ok {
			return
		}
		defer release()
		body, ok := readBody(w, r, s.cfg.MaxBodyBytes)
		if !ok {
			return
		}
		now := s.clock.Now()
		mentions, err := mention.Decode(body, now)
		if err != nil {
			refuse(w, err)
			return
		}
		if err := s.validateBatch(len(mentions)); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
			return
		}
		if err := brandsAllowed(caller, mentions); err != nil {
			var inv *mention.InvalidError
			errors.As(err, &inv)
			writeJSON(w, http.StatusForbidden, errorBody{Error: inv.Reason, Index: &inv.Index})
			return
		}
		for i, m := range mentions {
			if err := s.accounts.CheckBrandReply(m); err != nil {
				refuse(w, &mention.InvalidError{Index: i, Reason: err.Error()})
				return
			}
		}
		if err := s.guard.allow(key, len(mentions), now); err != nil {
			httpRefusal(w, err)
			return
		}
		accepted, err := s.accept(r.Context(), mentions)
		if err != nil {
			s.d.Tel.Logger.ErrorContext(r.Context(), "could not store mentions", "err", err)
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "could not store the mentions durably; retry: " + err.Error()})
			return
		}
		writeJSON(w, http.StatusAccepted, acceptedBody{Accepted: accepted})
	})
}

// reserveBody takes the request's body bytes from the replica's budget
// before any is read: its Content-Length, or limit when it sends none. A
// body announced larger than limit is refused at once, unread.
func (s *Service) reserveBody(w http.ResponseWriter, r *http.Request, limit int64) (release func(), ok bool) {
	n := limit
	if r.ContentLength >= 0 {
		n = r.ContentLength
	}
	if n > limit {
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: "body is larger than the accepted " + strconv.FormatInt(limit, 10) + " bytes; split the batch"})
		return nil, false
	}
	if err := s.bodies.take(n); err != nil {
		refuseUnread(w, err)
		return nil, false
	}
	return func() { s.bodies.give(n) }, true
}

// readBody reads at most limit bytes, answering 413 or 400 itself. A body
// of announced length is read into one buffer of that size, so reading it
// costs its size and no more (the body budget counts it so).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= limit {
		buf.Grow(int(r.ContentLength) + bytes.MinRead) // MinRead spare: EOF is seen without growing
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if err == nil {
		return buf.Bytes(), true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: "body is larger than the accepted " + strconv.FormatInt(limit, 10) + " bytes; split the batch"})
		return nil, false
	}
	writeJSON(w, http.StatusBadRequest, errorBody{Error: "read body: " + err.Error()})
	return nil, false
}

// refuseUnread answers a refusal made before the body was read, and
// closes the connection rather than let the server drain an unread body
// it does not want.
func refuseUnread(w http.ResponseWriter, err error) {
	w.Header().Set("Connection", "close")
	httpRefusal(w, err)
}

// httpRefusal answers a guard's refusal with its status and Retry-After.
func httpRefusal(w http.ResponseWriter, err error) {
	var limited *rateLimitedError
	switch {
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(limited.after)))
		writeJSON(w, http.StatusTooManyRequests, errorBody{Error: err.Error()})
	default:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: err.Error()})
	}
}

func refuse(w http.ResponseWriter, err error) {
	var inv *mention.InvalidError
	if errors.As(err, &inv) {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: inv.Reason, Index: &inv.Index})
		return
	}
	writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// grpcRefusal maps a guard's refusal to its gRPC code; the retry delay
// travels in the message.
func grpcRefusal(err error) error {
	var limited *rateLimitedError
	switch {
	case errors.As(err, &limited):
		return status.Error(codes.ResourceExhausted, err.Error())
	default:
		return status.Error(codes.Unavailable, err.Error())
	}
}

func invalidArgument(err error) error { return status.Error(codes.InvalidArgument, err.Error()) }

func unavailable(err error) error {
	return status.Error(codes.Unavailable, "could not store the mentions durably; retry: "+err.Error())
}
