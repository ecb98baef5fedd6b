package notify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
)

func TestPostClassifiesResponses(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		retry      bool
		reason     notify.Reason
		wait       time.Duration
	}{
		{http.StatusAccepted, "", false, "", 0},
		{http.StatusBadRequest, "", false, notify.ReasonClientError, 0},
		{http.StatusNotFound, "", false, notify.ReasonClientError, 0},
		{http.StatusRequestTimeout, "", true, notify.ReasonTimeout, 0},
		{http.StatusTooManyRequests, "12", true, notify.ReasonRateLimited, 12 * time.Second},
		{http.StatusTooManyRequests, t0.Add(90 * time.Second).Format(http.TimeFormat), true, notify.ReasonRateLimited, 90 * time.Second},
		{http.StatusInternalServerError, "", true, notify.ReasonServerError, 0},
		{http.StatusServiceUnavailable, "3", true, notify.ReasonServerError, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			retry, err := notify.Post(t.Context(), srv.Client(), clocktest.New(t0), srv.URL+"/secret-path", nil, []byte("{}"))
			var ne *notify.Error
			errors.As(err, &ne)
			if retry != tt.retry || notify.ReasonOf(err) != tt.reason || (ne != nil && ne.RetryAfter != tt.wait) {
				t.Fatalf("retry=%v err=%v; want retry=%v reason=%q wait=%v", retry, err, tt.retry, tt.reason, tt.wait)
			}
		})
	}
}

func TestPostTimeoutIsRetriedAsTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	retry, err := notify.Post(ctx, srv.Client(), clock.System{}, srv.URL, nil, nil)
	if !retry || notify.ReasonOf(err) != notify.ReasonTimeout {
		t.Fatalf("retry=%v err=%v; want a retryable timeout", retry, err)
	}
}

func TestPostToClosedPortIsNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	retry, err := notify.Post(t.Context(), http.DefaultClient, clock.System{}, url, nil, nil)
	if !retry || notify.ReasonOf(err) != notify.ReasonNetwork {
		t.Fatalf("retry=%v err=%v; want a retryable network error", retry, err)
	}
}

// A Slack webhook URL is a secret in its path: transport errors, which are
// logged, stored and published, must not carry it.
func TestTransportErrorsDoNotCarryTheWebhookURL(t *testing.T) {
	const secretPath = "/services/T000/B000/XXXXsecretXXXX?token=also-secret"
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(slow.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for name, url := range map[string]string{"refused": closed.URL + secretPath, "timeout": slow.URL + secretPath} {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		_, err := notify.Post(ctx, http.DefaultClient, clock.System{}, url, nil, nil)
		cancel()
		if err == nil || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "T000") {
			t.Errorf("%s: error %v shows the URL's secret parts", name, err)
		}
	}
}
