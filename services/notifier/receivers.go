package notifier

import (
	"context"
	"net/http"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/webhook"
	"github.com/firebreak/firebreak/services/platform/config"
)

// buildReceivers turns the configuration into receivers and their routing.
func buildReceivers(cfg Config) ([]notify.Receiver, notify.Router, error) {
	if cfg.WebhookURL == "" {
		return nil, onlyRouter(""), nil
	}
	var secret string
	if cfg.WebhookSecretFile != "" {
		var err error
		if secret, err = config.ReadSecret(cfg.WebhookSecretFile); err != nil {
			return nil, nil, err
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	r := notify.Receiver{
		Name: "webhook", Type: "webhook", SendResolved: true,
		Notifier: webhook.New(webhook.Config{URL: cfg.WebhookURL, Secret: notify.Secret(secret)}, client, notify.SystemClock{}),
		Backoff:  notify.DefaultBackoff(),
	}
	return []notify.Receiver{r}, onlyRouter("webhook"), nil
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
type forgetfulLog struct{}

func (forgetfulLog) Seen(context.Context, string) (bool, error)      { return false, nil }
func (forgetfulLog) Record(context.Context, ...*fbv1.Delivery) error { return nil }
