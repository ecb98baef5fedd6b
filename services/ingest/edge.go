package ingest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/firebreak/firebreak/services/ingest/mention"
)

// errorBody is the JSON of every refused request.
type errorBody struct {
	Error string `json:"error"`
	Index *int   `json:"index,omitempty"`
}

func (s *Service) httpHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: "body is larger than the accepted " + itoa(s.cfg.MaxBodyBytes) + " bytes; split the batch"})
				return
			}
			writeJSON(w, http.StatusBadRequest, errorBody{Error: "read body: " + err.Error()})
			return
		}
		mentions, err := mention.Decode(body, s.now())
		if err != nil {
			refuse(w, err)
			return
		}
		if err := s.validateBatch(len(mentions)); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
			return
		}
		accepted, err := s.accept(r.Context(), mentions)
		if err != nil {
			s.d.Tel.Logger.ErrorContext(r.Context(), "could not store mentions", "err", err)
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "could not store the mentions durably; retry: " + err.Error()})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"accepted": accepted})
	})
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

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func invalidArgument(err error) error { return status.Error(codes.InvalidArgument, err.Error()) }

func unavailable(err error) error {
	return status.Error(codes.Unavailable, "could not store the mentions durably; retry: "+err.Error())
}
