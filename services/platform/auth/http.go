package auth

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Require serves h only to callers that authenticate and satisfy rule;
// what names the API in refusals ("POST /v1/mentions"). Refusals are JSON
// {"error": "..."} with 401 (and WWW-Authenticate), 403 or 503, answered
// before the request body is read.
func (a *Authenticator) Require(what string, rule Rule, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.Verify(r.Context(), Bearer(r.Header.Get("Authorization"), r.Header.Get("X-API-Key")))
		if err == nil {
			err = Authorize(what, rule, id)
		}
		if err != nil {
			writeRefusal(w, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

func writeRefusal(w http.ResponseWriter, err error) {
	code := http.StatusUnauthorized
	switch {
	case errors.Is(err, errDenied):
		code = http.StatusForbidden
	case errors.Is(err, errUnavailable):
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "10")
	default:
		w.Header().Set("WWW-Authenticate", `Bearer realm="firebreak"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
