package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/clock"
)

// Acker acknowledges the episode of a case a message was about. The
// notifier's commander implements it by publishing a case command on the
// bus (commands.cases), which escalation applies (and ignores for an
// episode that is not the case's current one). It must be idempotent, as
// people click twice.
type Acker interface {
	Acknowledge(ctx context.Context, ref notify.CaseRef, actor string) error
}

// MaxSkew is how old a request may be before it is refused as a replay, as
// Slack recommends.
const MaxSkew = 5 * time.Minute

// maxInteractionBody bounds a request; Slack's payloads are a few kilobytes.
const maxInteractionBody = 1 << 20

// Events remembers which signed requests were handled, across replicas, for
// longer than MaxSkew, so a replayed request is handled once.
type Events interface {
	Claim(ctx context.Context, id string) (bool, error)
	Release(ctx context.Context, id string)
}

// InteractionHandler serves the Slack app's interactivity request URL. It
// checks the v0 signature and the timestamp, then acknowledges the case of
// every Acknowledge button in the payload on behalf of the clicking user.
// A request is identified by its signature (one per timestamp and body): a
// replay of it is answered 200 and changes nothing.
func InteractionHandler(signingSecret notify.Secret, acker Acker, clock clock.Clock, events Events) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxInteractionBody+1))
		if err != nil || len(body) > maxInteractionBody {
			http.Error(w, "body unreadable or over 1 MiB", http.StatusBadRequest)
			return
		}
		if err := Verify(signingSecret, r.Header, body, clock.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		in, err := parse(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id := r.Header.Get("X-Slack-Signature")
		first, err := events.Claim(r.Context(), id)
		if err != nil {
			http.Error(w, "cannot check the request now; click again", http.StatusServiceUnavailable)
			return
		}
		if !first {
			w.WriteHeader(http.StatusOK)
			return
		}
		if err := acknowledge(r.Context(), acker, in); err != nil {
			events.Release(context.WithoutCancel(r.Context()), id)
			// Slack shows the user that the click failed; they can click again.
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// Verify checks X-Slack-Signature, "v0=" and the hex HMAC-SHA256 of
// "v0:{timestamp}:{body}", and refuses a timestamp more than MaxSkew from now.
func Verify(secret notify.Secret, h http.Header, body []byte, now time.Time) error {
	ts := h.Get("X-Slack-Request-Timestamp")
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("X-Slack-Request-Timestamp %q is not a Unix time", ts)
	}
	if d := now.Sub(time.Unix(secs, 0)); d > MaxSkew || d < -MaxSkew {
		return fmt.Errorf("request timestamp %s is %s from now; refused as a possible replay", ts, d.Round(time.Second))
	}
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	want := "v0=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(h.Get("X-Slack-Signature")), []byte(want)) {
		return fmt.Errorf("X-Slack-Signature does not match; check the app's signing secret")
	}
	return nil
}

// interaction is the part of a block_actions payload that matters here.
type interaction struct {
	Type string `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	} `json:"user"`
	Actions []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
	} `json:"actions"`
}

func parse(body []byte) (interaction, error) {
	var in interaction
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return in, fmt.Errorf("decode form body: %w", err)
	}
	if err := json.Unmarshal([]byte(form.Get("payload")), &in); err != nil {
		return in, fmt.Errorf("decode payload field: %w", err)
	}
	return in, nil
}

func acknowledge(ctx context.Context, acker Acker, in interaction) error {
	actor := "slack:" + in.User.ID
	if in.User.Username != "" {
		actor = "slack:" + in.User.Username
	}
	for _, a := range in.Actions {
		if a.ActionID != AckActionID || a.Value == "" {
			continue
		}
		// Buttons rendered before episodes travelled carry the bare case
		// id, and act on the current episode.
		if err := acker.Acknowledge(ctx, notify.ParseEpisodeKey(a.Value, false), actor); err != nil {
			return fmt.Errorf("acknowledge case %s for %s: %w", a.Value, actor, err)
		}
	}
	return nil
}
