package notifier

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"golang.org/x/time/rate"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/webhook"
	"github.com/firebreak/firebreak/services/notifier/receivers"
	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/telemetry"
)

// routing is what the service delivers with: the receivers by name and how
// teams and levels reach them.
type routing struct {
	receivers []notify.Receiver
	router    notify.Router
	linkBase  string
}

// buildRouting reads the receivers file, or makes the one-webhook setup of
// --webhook-url, or (neither set) a notifier that tells nobody.
func buildRouting(cfg Config, tel *telemetry.Telemetry) (routing, error) {
	client := &http.Client{Timeout: 15 * time.Second, Transport: tracedTransport(tel)}
	switch {
	case cfg.ReceiversFile != "":
		rc, err := receivers.Load(cfg.ReceiversFile)
		if err != nil {
			return routing{}, err
		}
		link := rc.LinkBase
		if cfg.LinkBase != "" {
			link = cfg.LinkBase
		}
		return routing{receivers: rc.Build(client, clock.System{}), router: rc, linkBase: link}, nil
	case cfg.WebhookURL != "":
		var secret string
		if cfg.WebhookSecretFile != "" {
			var err error
			if secret, err = config.ReadSecret(cfg.WebhookSecretFile); err != nil {
				return routing{}, err
			}
		}
		r := notify.Receiver{
			Name: "webhook", Type: "webhook", SendResolved: true,
			Notifier: webhook.New(webhook.Config{URL: cfg.WebhookURL, Secret: notify.Secret(secret)}, client, clock.System{}),
			Backoff:  notify.DefaultBackoff(),
		}
		return routing{receivers: []notify.Receiver{r}, router: onlyRouter("webhook"), linkBase: cfg.LinkBase}, nil
	}
	return routing{router: onlyRouter(""), linkBase: cfg.LinkBase}, nil
}

// onlyRouter sends every team and level to one receiver ("" for none).
type onlyRouter string

func (o onlyRouter) Route(string, int32) []string {
	if o == "" {
		return nil
	}
	return []string{string(o)}
}

func (onlyRouter) Fallback(string) string { return "" }

// forgetfulLog remembers nothing, for test deliveries.
type forgetfulLog struct {
	// pace keeps the receiver's rate: a test send counts against it too.
	pace notify.Log
}

func (forgetfulLog) Seen(context.Context, string) (bool, error)      { return false, nil }
func (forgetfulLog) Record(context.Context, ...*fbv1.Delivery) error { return nil }
func (forgetfulLog) Claim(context.Context, string, time.Duration) (bool, error) {
	return true, nil
}
func (forgetfulLog) Renew(context.Context, time.Duration, ...string) (bool, error) {
	return true, nil
}
func (l forgetfulLog) Reserve(ctx context.Context, receiver string, limit rate.Limit, burst int, now time.Time) (time.Duration, error) {
	return l.pace.Reserve(ctx, receiver, limit, burst, now)
}

// tracedTransport gives each delivery a client span in the page's trace.
// The trace context itself stays inside: receivers are other companies'
// APIs, so no traceparent header is sent to them.
func tracedTransport(tel *telemetry.Telemetry) http.RoundTripper {
	return otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithTracerProvider(tel.Tracer),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }))
}
