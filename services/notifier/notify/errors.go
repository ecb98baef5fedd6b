package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"time"
)

// Reason is why an attempt failed, a small fixed set fit for metric labels.
type Reason string

// Failure reasons.
const (
	ReasonTimeout     Reason = "timeout"
	ReasonRateLimited Reason = "rate_limited"
	ReasonServerError Reason = "server_error"
	ReasonClientError Reason = "client_error"
	ReasonNetwork     Reason = "network"
	// ReasonCanceled is an attempt cut short because the caller gave up.
	ReasonCanceled Reason = "canceled"
	// ReasonUnknown is any error that is not an *Error.
	ReasonUnknown Reason = "unknown"
)

// Error is a failed attempt with its reason, the receiver's status code, and
// how long the receiver asked us to wait (Retry-After).
type Error struct {
	Reason     Reason
	StatusCode int
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("%s (HTTP %d): %v", e.Reason, e.StatusCode, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Reason, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf is the reason of err, ReasonUnknown for errors that are not *Error.
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonUnknown
}

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

func retryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// maxErrorBody bounds how much of an error response is kept for the log.
const maxErrorBody = 512

// CheckResponse classifies an HTTP response the way most receivers document
// theirs: 2xx is success; 429 and 408 are retried, honouring Retry-After;
// 5xx is retried; any other status is permanent. It reads a little of the
// body into the error and leaves closing it to the caller.
func CheckResponse(resp *http.Response, now time.Time) (retry bool, err error) {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return false, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{
		StatusCode: code,
		RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), now),
		Err:        fmt.Errorf("%s %s: %s", resp.Request.Method, redactURL(resp.Request.URL.String()), strings.TrimSpace(string(snippet))),
	}
	switch {
	case code == http.StatusTooManyRequests:
		e.Reason = ReasonRateLimited
		return true, e
	case code == http.StatusRequestTimeout:
		e.Reason = ReasonTimeout
		return true, e
	case code >= 500:
		e.Reason = ReasonServerError
		return true, e
	default:
		e.Reason = ReasonClientError
		return false, e
	}
}

// TransportError classifies an error from sending a request. Network errors
// and timeouts are retried; a request stopped because ctx ended is not.
func TransportError(ctx context.Context, err error) (retry bool, _ error) {
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return false, &Error{Reason: ReasonCanceled, Err: err}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return true, &Error{Reason: ReasonTimeout, Err: err}
	}
	return true, &Error{Reason: ReasonNetwork, Err: err}
}

// NoRetry is a Notifier's failure that retrying cannot fix, such as a message that
// cannot be rendered.
func NoRetry(err error) (bool, error) {
	return false, &Error{Reason: ReasonClientError, Err: err}
}

// ParseRetryAfter reads a Retry-After header, in seconds or as an HTTP date;
// it returns 0 when the header is absent or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redactURL drops the path and query of a URL for error messages, since
// webhook URLs (Slack's) carry their secret in the path.
func redactURL(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return "<url>"
	}
	rest := raw[i+3:]
	if j := strings.IndexAny(rest, "/?"); j >= 0 {
		rest = rest[:j]
	}
	return raw[:i+3] + rest + "/…"
}

// withoutURL replaces the URL that the HTTP client puts in its errors
// (Post "https://hooks.slack.com/services/T/B/SECRET": ...) with its
// redacted form, keeping the *url.Error so timeouts are still recognised.
// These errors are logged, stored in the delivery log, published on
// notifications.* and streamed to watchers: a webhook URL must never be in
// them.
func withoutURL(err error) error {
	var ue *neturl.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &neturl.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
}
