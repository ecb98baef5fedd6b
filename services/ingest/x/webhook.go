package x

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

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
	// MaxBodyBytes caps one delivery. X's deliveries are a few kilobytes,
	// so the cap is far below the generic edge's.
	MaxBodyBytes int64
}

// Register declares the flags.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.SecretFile, "x-consumer-secret-file", "", "file holding the X app's consumer secret; turns on POST/GET /v1/webhooks/x")
	fs.StringVar(&c.Brands, "x-brands", "", "each brand's X user id, e.g. acme=1716450569358098432,globex=42")
	fs.Int64Var(&c.MaxBodyBytes, "x-max-body-bytes", DefaultMaxBodyBytes, "largest accepted X webhook delivery")
}

// DefaultMaxBodyBytes is the delivery cap when none is configured.
const DefaultMaxBodyBytes = 256 << 10

// Enabled is whether the webhook is configured.
func (c *Config) Enabled() bool { return c.SecretFile != "" }

// Validate reports what is wrong into p.
func (c *Config) Validate(p *config.Problems) {
	if !c.Enabled() {
		return
	}
	_, err := ParseBrands(c.Brands)
	p.Check(err == nil, "x-brands", fmt.Sprintf("%v", err))
	p.Check(c.MaxBodyBytes == 0 || c.MaxBodyBytes >= 1<<10, "x-max-body-bytes", "must be at least 1024")
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

// Deliveries remembers the X Activity API deliveries taken in, by event
// id, so that one sent again (X retrying, or anyone replaying a captured
// delivery) is answered without being taken in twice. Replicas share it.
type Deliveries interface {
	// Begin claims an event id: Fresh for the first delivery, Done when
	// it was taken in before, InProgress while another request holds it.
	Begin(ctx context.Context, eventID string) (DeliveryState, error)
	// Finish records the outcome of a Fresh claim: taken in, or released
	// so that X's retry is taken.
	Finish(ctx context.Context, eventID string, taken bool) error
}

// DeliveryState is what Deliveries knows of an event id.
type DeliveryState int

// The states of an event id.
const (
	Fresh DeliveryState = iota
	Done
	InProgress
)

// Webhook is the HTTP endpoint X calls: GET for the CRC challenge, POST
// for events.
type Webhook struct {
	Secret       []byte
	Brands       Brands
	Sink         Sink
	Deliveries   Deliveries
	MaxBodyBytes int64
	Log          *slog.Logger
	// TakeWithin bounds taking one delivery in (default TakeBound).
	TakeWithin time.Duration
}

// TakeBound bounds taking a delivery in, from its claim (Deliveries.Begin)
// to its outcome: the claim must outlast it, or X's retry could be taken in
// by another replica while this one still works on the first copy.
const TakeBound = 40 * time.Second

// NewWebhook reads the secret and brands of a validated Config.
func NewWebhook(c Config, sink Sink, deliveries Deliveries, log *slog.Logger) (*Webhook, error) {
	secret, err := config.ReadSecret(c.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("X webhook: %w", err)
	}
	brands, err := ParseBrands(c.Brands)
	if err != nil {
		return nil, fmt.Errorf("--x-brands %w", err)
	}
	limit := c.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	return &Webhook{Secret: []byte(secret), Brands: brands, Sink: sink, Deliveries: deliveries, MaxBodyBytes: limit, Log: log}, nil
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
// registration; a wrong answer disables the webhook. Only a token shaped
// like X's is answered (see CheckCRCToken).
func (h *Webhook) challenge(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("crc_token")
	if err := CheckCRCToken(token); err != nil {
		reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	reply(w, http.StatusOK, map[string]string{"response_token": ResponseToken(h.Secret, token)})
}

func (h *Webhook) events(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > h.MaxBodyBytes {
		w.Header().Set("Connection", "close") // not worth draining
		reply(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("body is larger than %d bytes", h.MaxBodyBytes)})
		return
	}
	body, err := ReadSigned(h.Secret, r.Body, h.MaxBodyBytes, r.Header.Get(SignatureHeader))
	switch {
	case errors.Is(err, ErrTooLarge):
		reply(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("body is larger than %d bytes", h.MaxBodyBytes)})
		return
	case errors.Is(err, ErrBadSignature):
		h.Log.WarnContext(r.Context(), "X webhook with a bad signature refused", "remote", r.RemoteAddr)
		reply(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
		return
	case err != nil:
		reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	d, err := Parse(body, h.Brands)
	if err != nil {
		reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if h.Deliveries == nil {
		h.take(w, r, d.Mentions)
		return
	}
	if d.EventID == "" {
		// Account Activity deliveries carry no event id; X resends one
		// byte for byte, so its digest names it.
		sum := sha256.Sum256(body)
		d.EventID = "aaa-" + hex.EncodeToString(sum[:])
	}
	h.once(w, r, d)
}

// once takes a delivery in unless its event id was taken in before.
func (h *Webhook) once(w http.ResponseWriter, r *http.Request, d Delivery) {
	state, err := h.Deliveries.Begin(r.Context(), d.EventID)
	switch {
	case err != nil:
		h.Log.ErrorContext(r.Context(), "X webhook: could not check the event id; X will retry", "err", err)
		w.Header().Set("Retry-After", "1")
		reply(w, http.StatusServiceUnavailable, map[string]string{"error": "could not check whether the delivery was taken in; retry"})
		return
	case state == Done:
		reply(w, http.StatusOK, map[string]any{"accepted": 0, "duplicate": true})
		return
	case state == InProgress:
		// The first copy may yet fail; X's retry will find out.
		w.Header().Set("Retry-After", "5")
		reply(w, http.StatusConflict, map[string]string{"error": "this delivery is being taken in by another request; retry later"})
		return
	}
	within := h.TakeWithin
	if within <= 0 {
		within = TakeBound
	}
	ctx, cancel := context.WithTimeout(r.Context(), within)
	defer cancel()
	taken := h.take(w, r.WithContext(ctx), d.Mentions)
	if err := h.Deliveries.Finish(context.WithoutCancel(r.Context()), d.EventID, taken); err != nil {
		h.Log.WarnContext(r.Context(), "X webhook: could not record the event id; a resent delivery is still published once per post", "err", err)
	}
}

// take hands the mentions to the sink and answers; it reports whether
// they are durable.
func (h *Webhook) take(w http.ResponseWriter, r *http.Request, mentions []*fbv1.Mention) bool {
	if len(mentions) > 0 {
		if err := h.Sink.Ingest(r.Context(), mentions); err != nil {
			h.Log.ErrorContext(r.Context(), "X webhook: could not store mentions; X will retry", "err", err)
			w.Header().Set("Retry-After", "1")
			reply(w, http.StatusServiceUnavailable, map[string]string{"error": "could not store the mentions durably; retry"})
			return false
		}
	}
	reply(w, http.StatusOK, map[string]int{"accepted": len(mentions)})
	return true
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
