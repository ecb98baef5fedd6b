package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"time"

	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/clock"
)

// User is the Firebreak user a Slack user acts as, and their role.
type User struct {
	Name string
	Role string
}

// Users maps Slack user ids (U0CA5) to Firebreak users.
type Users map[string]User

// Lookup finds the Firebreak user of a Slack user.
func (u Users) Lookup(slackID string) (User, bool) {
	user, ok := u[slackID]
	return user, ok
}

// Directory finds the Firebreak user a Slack user acts as: a fixed Users
// map, or a file re-read when it changes.
type Directory interface {
	Lookup(slackID string) (User, bool)
}

// CanAct reports whether a role may acknowledge, snooze and resolve.
func CanAct(role string) bool { return role == "responder" || role == "admin" }

// Click is a verified press of one of the message's buttons by a Slack
// user mapped to a Firebreak user allowed to act.
type Click struct {
	// Ref is the case and the episode the message was about.
	Ref notify.CaseRef
	// Action is the button's action id (AckActionID, SnoozeActionID,
	// ResolveActionID).
	Action string
	User   User
	// SlackUser is the clicker's Slack user id.
	SlackUser string
	// ResponseURL is where the clicked message can be replaced, for 30
	// minutes; Channel and MessageTS name it.
	ResponseURL        string
	Channel, MessageTS string
}

// Commander turns a click into a case command. The notifier's commander
// publishes it on the bus (commands.cases), which escalation applies (and
// ignores for an episode that is not the case's current one). It must be
// idempotent, as people click twice.
type Commander interface {
	Click(ctx context.Context, c Click) error
}

// Options configure InteractionHandler.
type Options struct {
	// SigningSecret is the app's signing secret.
	SigningSecret notify.Secret
	// Users are who may press the buttons; anyone else is refused.
	Users     Directory
	Commander Commander
	Clock     clock.Clock
	Events    Events
	// Client posts refusals to the click's response_url.
	Client *http.Client
	// ResponseHosts are the hosts a response_url may name; Slack's
	// (hooks.slack.com) when empty. A signed request comes from Slack, but
	// a URL it carries is still not followed anywhere else.
	ResponseHosts []string
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
// checks the v0 signature and the timestamp, then for each button pressed
// maps the Slack user to a Firebreak user, checks their role, and passes
// the click on to the commander in that user's name. An unmapped user or a
// viewer is told why, privately (an ephemeral message through the click's
// response_url), and nothing changes. A request is identified by its
// signature (one per timestamp and body): a replay of it is answered 200
// and changes nothing.
func InteractionHandler(o Options) http.Handler {
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
		if err := Verify(o.SigningSecret, r.Header, body, o.Clock.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		in, err := parse(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id := r.Header.Get("X-Slack-Signature")
		first, err := o.Events.Claim(r.Context(), id)
		if err != nil {
			http.Error(w, "cannot check the request now; click again", http.StatusServiceUnavailable)
			return
		}
		if !first {
			w.WriteHeader(http.StatusOK)
			return
		}
		refusal, err := o.act(r.Context(), in)
		if err != nil {
			o.Events.Release(context.WithoutCancel(r.Context()), id)
			// Slack shows the user that the click failed; they can click again.
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if refusal != "" {
			o.tell(r.Context(), in.ResponseURL, refusal)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, refusal)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// act passes each Firebreak button pressed to the commander, or says why
// the user may not press it.
func (o Options) act(ctx context.Context, in interaction) (refusal string, err error) {
	for _, a := range in.Actions {
		if (a.ActionID != AckActionID && a.ActionID != SnoozeActionID && a.ActionID != ResolveActionID) || a.Value == "" {
			continue
		}
		u, ok := o.Users.Lookup(in.User.ID)
		if !ok {
			return fmt.Sprintf("Firebreak did not act: your Slack account (%s) is not linked to a Firebreak user. "+
				"Ask a Firebreak admin to add %s to the Slack users file (--slack-users-file), or act from the console.", in.User.ID, in.User.ID), nil
		}
		if !CanAct(u.Role) {
			return fmt.Sprintf("Firebreak did not act: you are signed in as %s with the %s role; acknowledging, snoozing and resolving need the responder or admin role.",
				u.Name, orNone(u.Role)), nil
		}
		// Buttons rendered before episodes travelled carry the bare case
		// id, and act on the current episode.
		c := Click{Ref: notify.ParseEpisodeKey(a.Value, false), Action: a.ActionID, User: u, SlackUser: in.User.ID,
			ResponseURL: o.responseURL(in.ResponseURL), Channel: in.Container.ChannelID, MessageTS: in.Container.MessageTS}
		if err := o.Commander.Click(ctx, c); err != nil {
			return "", fmt.Errorf("%s on case %s for %s: %w", a.ActionID, a.Value, u.Name, err)
		}
	}
	return "", nil
}

func orNone(role string) string {
	if role == "" {
		return "no"
	}
	return role
}

// responseURL is raw when it is an https URL on Slack's hooks host (or one
// of ResponseHosts), "" otherwise.
func (o Options) responseURL(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return ""
	}
	hosts := o.ResponseHosts
	if len(hosts) == 0 {
		hosts = []string{"hooks.slack.com"}
	}
	for _, h := range hosts {
		if u.Host == h && (u.Scheme == "https" || (u.Scheme == "http" && h != "hooks.slack.com")) {
			return raw
		}
	}
	return ""
}

// tell posts an ephemeral message, seen only by the clicker, to the
// click's response_url; a failure is the user's to notice, as nothing
// changed either way.
func (o Options) tell(ctx context.Context, responseURL, text string) {
	if u := o.responseURL(responseURL); u != "" && o.Client != nil {
		_ = Respond(ctx, o.Client, u, Message{ResponseType: "ephemeral", Text: text})
	}
}

// Respond posts msg to a response_url: ephemeral to the clicker, or
// replacing the clicked message (ReplaceOriginal).
func Respond(ctx context.Context, client *http.Client, responseURL string, msg Message) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode Slack response: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build Slack response: %w", bare(err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post to the click's response_url: %w", bare(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAPIResponse))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the click's response_url answered %d; it lasts 30 minutes and 5 uses", resp.StatusCode)
	}
	return nil
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
	ResponseURL string `json:"response_url"`
	Container   struct {
		ChannelID string `json:"channel_id"`
		MessageTS string `json:"message_ts"`
	} `json:"container"`
}

func parse(body []byte) (interaction, error) {
	var in interaction
	form, err := neturl.ParseQuery(string(body))
	if err != nil {
		return in, fmt.Errorf("decode form body: %w", err)
	}
	if err := json.Unmarshal([]byte(form.Get("payload")), &in); err != nil {
		return in, fmt.Errorf("decode payload field: %w", err)
	}
	return in, nil
}
