package x

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/config"
)

// Sink takes mentions in and returns once they are durable; ingest is one.
type Sink interface {
	Ingest(ctx context.Context, mentions []*fbv1.Mention) error
}

// Config turns the webhook on: the app's consumer secret signs every
// request, and each brand's X user id names the brand.
type Config struct {
	SecretFile string
	Brands     string
}

// Register declares the flags.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.SecretFile, "x-consumer-secret-file", "", "file holding the X app's consumer secret; turns on POST/GET /v1/webhooks/x")
	fs.StringVar(&c.Brands, "x-brands", "", "each brand's X user id, e.g. acme=1716450569358098432,globex=42")
}

// Enabled is whether the webhook is configured.
func (c *Config) Enabled() bool { return c.SecretFile != "" }

// Validate reports what is wrong into p.
func (c *Config) Validate(p *config.Problems) {
	if !c.Enabled() {
		return
	}
	_, err := ParseBrands(c.Brands)
	p.Check(err == nil, "x-brands", fmt.Sprintf("%v", err))
}

// ParseBrands reads "acme=123,globex=456".
func ParseBrands(s string) (Brands, error) {
	out := Brands{}
	for _, pair := range strings.Split(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		brand, id, ok := strings.Cut(pair, "=")
		if _, err := strconv.ParseUint(id, 10, 64); !ok || err != nil || brand == "" {
			return nil, fmt.Errorf("%q is not brand=user-id (e.g. acme=1716450569358098432)", pair)
		}
		out[id] = brand
	}
	if len(out) == 0 {
		return nil, errors.New("names no brand; set it to brand=user-id for each brand's X account")
	}
	return out, nil
}

// Webhook is the HTTP endpoint X calls: GET for the CRC challenge, POST
// for events.
type Webhook struct {
	Secret       []byte
	Brands       Brands
	Sink         Sink
	MaxBodyBytes int64
	Log          *slog.Logger
}

// NewWebhook reads the secret and brands of a validated Config.
func NewWebhook(c Config, sink Sink, maxBody int64, log *slog.Logger) (*Webhook, error) {
	secret, err := config.ReadSecret(c.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("X webhook: %w", err)
	}
	brands, err := ParseBrands(c.Brands)
	if err != nil {
		return nil, fmt.Errorf("--x-brands %w", err)
	}
	return &Webhook{Secret: []byte(secret), Brands: brands, Sink: sink, MaxBodyBytes: maxBody, Log: log}, nil
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		h.challenge(w, r)
	case http.MethodPost:
		h.events(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		reply(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET for the CRC challenge or POST for events"})
	}
}

// challenge answers X's CRC check, which X repeats hourly and on
// registration; a wrong answer disables the webhook.
func (h *Webhook) challenge(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("crc_token")
	if token == "" {
		reply(w, http.StatusBadRequest, map[string]string{"error": "crc_token query parameter is missing"})
		return
	}
	reply(w, http.StatusOK, map[string]string{"response_token": ResponseToken(h.Secret, token)})
}

func (h *Webhook) events(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		reply(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("body is larger than %d bytes", h.MaxBodyBytes)})
		return
	case err != nil:
		reply(w, http.StatusBadRequest, map[string]string{"error": "read body: " + err.Error()})
		return
	}
	if err := Verify(h.Secret, body, r.Header.Get(SignatureHeader)); err != nil {
		h.Log.WarnContext(r.Context(), "X webhook with a bad signature refused", "remote", r.RemoteAddr)
		reply(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
		return
	}
	mentions, err := Parse(body, h.Brands)
	if err != nil {
		reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if len(mentions) > 0 {
		if err := h.Sink.Ingest(r.Context(), mentions); err != nil {
			h.Log.ErrorContext(r.Context(), "X webhook: could not store mentions; X will retry", "err", err)
			w.Header().Set("Retry-After", "1")
			reply(w, http.StatusServiceUnavailable, map[string]string{"error": "could not store the mentions durably; retry"})
			return
		}
	}
	reply(w, http.StatusOK, map[string]int{"accepted": len(mentions)})
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
