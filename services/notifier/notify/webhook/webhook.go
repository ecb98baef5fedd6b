// Package webhook posts case events as JSON to any HTTP endpoint, signed with
// HMAC-SHA256 over a timestamp and the body so the receiver can verify them
// and refuse replays, and carrying an Idempotency-Key so it can drop repeats.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/clock"
	"google.golang.org/protobuf/encoding/protojson"
)

// Headers of a signed request.
const (
	HeaderTimestamp   = "X-Firebreak-Timestamp"
	HeaderSignature   = "X-Firebreak-Signature"
	HeaderIdempotency = "Idempotency-Key"
)

// Version is the body's schema version.
const Version = "1"

// Config is one endpoint.
type Config struct {
	URL string
	// Secret signs requests; when empty they go unsigned.
	Secret notify.Secret
}

// Notifier posts to one endpoint.
type Notifier struct {
	cfg    Config
	client *http.Client
	clock  clock.Clock
}

// New returns a Notifier for one endpoint.
func New(cfg Config, client *http.Client, clock clock.Clock) *Notifier {
	return &Notifier{cfg: cfg, client: client, clock: clock}
}

// Body is what the endpoint receives. Events are firebreak.v1.CaseEvent in
// protobuf's JSON mapping with the .proto field names.
type Body struct {
	Version  string            `json:"version"`
	Receiver string            `json:"receiver"`
	Action   string            `json:"action"`
	DedupKey string            `json:"dedup_key"`
	Title    string            `json:"title"`
	Links    map[string]string `json:"links,omitempty"`
	Events   []json.RawMessage `json:"events"`
}

// Notify posts the events; any 2xx is success.
func (n *Notifier) Notify(ctx context.Context, note *notify.Notification) (bool, error) {
	body, err := Encode(note)
	if err != nil {
		return notify.NoRetry(err)
	}
	h := http.Header{
		"Content-Type":    {"application/json"},
		HeaderIdempotency: {note.DedupKey},
	}
	if n.cfg.Secret != "" {
		ts := strconv.FormatInt(n.clock.Now().Unix(), 10)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, "v1="+Sign(n.cfg.Secret, ts, body))
	}
	return notify.Post(ctx, n.client, n.clock, n.cfg.URL, h, body)
}

// Encode renders the request body for a notification.
func Encode(note *notify.Notification) ([]byte, error) {
	b := Body{Version: Version, Receiver: note.Receiver, Action: string(note.Action()), DedupKey: note.DedupKey, Title: notify.GroupTitle(note)}
	for _, ev := range note.Events {
		raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("encode case event %s: %w", ev.GetId(), err)
		}
		b.Events = append(b.Events, raw)
		if l := note.CaseLink(ev.GetCase().GetId()); l != "" {
			if b.Links == nil {
				b.Links = map[string]string{}
			}
			b.Links[ev.GetCase().GetId()] = l
		}
	}
	return json.Marshal(b)
}

// Sign is the hex HMAC-SHA256 of "timestamp.body".
func Sign(secret notify.Secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Verify is for receivers: it checks the signature header (one or more
// comma-separated v1=<hex>, so secrets can be rotated) against the body and
// refuses a timestamp further than tolerance from now, a replay. Receivers
// should also drop repeated Idempotency-Keys.
func Verify(secret notify.Secret, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts := h.Get(HeaderTimestamp)
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q is not a Unix time", HeaderTimestamp, ts)
	}
	if d := now.Sub(time.Unix(secs, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%s %s is %s from now, beyond %s; refused as a replay", HeaderTimestamp, ts, d.Round(time.Second), tolerance)
	}
	want, _ := hex.DecodeString(Sign(secret, ts, body))
	for sig := range strings.SplitSeq(h.Get(HeaderSignature), ",") {
		hexSig, ok := strings.CutPrefix(strings.TrimSpace(sig), "v1=")
		if !ok {
			continue
		}
		if got, err := hex.DecodeString(hexSig); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%s does not match the body; check the shared secret", HeaderSignature)
}
