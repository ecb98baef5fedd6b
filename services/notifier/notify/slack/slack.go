// Package slack posts cases to Slack as Block Kit messages with
// Acknowledge, Snooze 1h and Resolve buttons, through an incoming webhook or
// a bot token (chat.postMessage, so the message can be updated with
// chat.update once someone takes the case), and serves the buttons'
// interaction requests after checking Slack's request signature.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/clock"
)

// The action_ids of the message's buttons.
const (
	AckActionID     = "firebreak_acknowledge"
	SnoozeActionID  = "firebreak_snooze_1h"
	ResolveActionID = "firebreak_resolve"
)

// SnoozeFor is how long the Snooze button pauses the case's chain.
const SnoozeFor = time.Hour

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api"

// Config is one incoming webhook, or one bot token and channel.
type Config struct {
	// WebhookURL is the hooks.slack.com URL; it is a secret since anyone
	// holding it can post to the channel.
	WebhookURL notify.Secret
	// BotToken (xoxb-…) posts with chat.postMessage to Channel instead, so
	// the message can be updated later (chat.update).
	BotToken notify.Secret
	Channel  string
	// APIURL overrides DefaultAPIURL (a test server).
	APIURL string
}

// Notifier posts to one incoming webhook.
type Notifier struct {
	cfg    Config
	client *http.Client
	clock  clock.Clock
}

// New returns a Notifier for one webhook or bot channel.
func New(cfg Config, client *http.Client, clock clock.Clock) *Notifier {
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	return &Notifier{cfg: cfg, client: client, clock: clock}
}

// CanUpdate reports whether the notifier's messages can be updated later:
// only a bot token can (chat.update); an incoming webhook's cannot.
func (n *Notifier) CanUpdate() bool { return n.cfg.BotToken != "" }

// APIURL is the Web API the notifier calls.
func (n *Notifier) APIURL() string { return n.cfg.APIURL }

// Message is the webhook body: text is the notification fallback, blocks
// the rendered message. Channel and TS address chat.postMessage and
// chat.update; ReplaceOriginal and ResponseType address a response_url.
type Message struct {
	Channel         string  `json:"channel,omitempty"`
	TS              string  `json:"ts,omitempty"`
	ResponseType    string  `json:"response_type,omitempty"`
	ReplaceOriginal bool    `json:"replace_original,omitempty"`
	Text            string  `json:"text"`
	Blocks          []Block `json:"blocks,omitempty"`
}

// Block is one Block Kit block, kept as a map to follow Slack's JSON as is.
type Block = map[string]any

// Limits from Slack's Block Kit reference.
const (
	maxHeader     = 150
	maxText       = 3000
	maxCasesShown = 20
	maxTexts      = 3
)

// Notify posts the message. Slack answers 200 "ok"; 429 carries Retry-After
// (about one message a second per webhook); other 4xx (invalid_payload,
// channel_not_found, channel_is_archived) are permanent.
func (n *Notifier) Notify(ctx context.Context, note *notify.Notification) (bool, error) {
	_, retry, err := n.Post(ctx, note)
	return retry, err
}

// Post is Notify that says which message it posted: "<channel>/<ts>" with a
// bot token, for Update; "" through a webhook, or for a grouped message,
// which is not rewritten for one case.
func (n *Notifier) Post(ctx context.Context, note *notify.Notification) (string, bool, error) {
	msg := Render(note)
	if n.cfg.BotToken == "" {
		body, err := json.Marshal(msg)
		if err != nil {
			retry, err := notify.NoRetry(fmt.Errorf("encode Slack message %s: %w", note.DedupKey, err))
			return "", retry, err
		}
		h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
		retry, err := notify.Post(ctx, n.client, n.clock, string(n.cfg.WebhookURL), h, body)
		return "", retry, err
	}
	msg.Channel = n.cfg.Channel
	var out struct {
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	}
	if retry, err := n.call(ctx, "chat.postMessage", msg, &out); err != nil {
		return "", retry, err
	}
	if note.Grouped() || out.Channel == "" || out.TS == "" {
		return "", false, nil
	}
	return out.Channel + "/" + out.TS, false, nil
}

// Update rewrites a message the notifier posted (ref from Post) with
// chat.update.
func (n *Notifier) Update(ctx context.Context, ref string, msg Message) error {
	channel, ts, ok := strings.Cut(ref, "/")
	if !ok || channel == "" || ts == "" {
		return fmt.Errorf("Slack message reference %q is not <channel>/<ts>", ref)
	}
	msg.Channel, msg.TS = channel, ts
	_, err := n.call(ctx, "chat.update", msg, nil)
	return err
}

// maxAPIResponse bounds what is read of a Web API answer.
const maxAPIResponse = 64 << 10

// call makes one Web API call with the bot token. The API answers 200 with
// "ok": false and an error code for most failures: "ratelimited" (and HTTP
// 429 with Retry-After) is retried, the others (invalid_auth,
// channel_not_found, not_in_channel, message_not_found) are permanent.
func (n *Notifier) call(ctx context.Context, method string, msg Message, into any) (bool, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return notify.NoRetry(fmt.Errorf("encode Slack %s: %w", method, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(n.cfg.APIURL, "/")+"/"+method, bytes.NewReader(body))
	if err != nil {
		return notify.NoRetry(fmt.Errorf("build Slack %s request: %w; fix the receiver's api_url", method, err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+string(n.cfg.BotToken))
	resp, err := n.client.Do(req)
	if err != nil {
		return notify.TransportError(ctx, fmt.Errorf("Slack %s: %w", method, bare(err)))
	}
	defer resp.Body.Close()
	if retry, err := notify.CheckResponse(resp, n.clock.Now()); err != nil {
		return retry, err
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse))
	if err != nil {
		return notify.TransportError(ctx, fmt.Errorf("read Slack %s answer: %w", method, err))
	}
	var res struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return true, &notify.Error{Reason: notify.ReasonServerError, StatusCode: resp.StatusCode, Err: fmt.Errorf("Slack %s answered something that is not JSON", method)}
	}
	if !res.OK {
		e := &notify.Error{Reason: notify.ReasonClientError, StatusCode: resp.StatusCode, Err: fmt.Errorf("Slack %s: %s%s", method, res.Error, apiHint(res.Error))}
		if res.Error == "ratelimited" {
			e.Reason = notify.ReasonRateLimited
			return true, e
		}
		return false, e
	}
	if into != nil {
		_ = json.Unmarshal(raw, into)
	}
	return false, nil
}

// apiHint says what to do about a Web API error.
func apiHint(code string) string {
	switch code {
	case "not_in_channel", "channel_not_found":
		return "; invite the Firebreak app to the channel, or fix the receiver's channel id"
	case "invalid_auth", "not_authed", "token_revoked", "account_inactive":
		return "; the bot token is wrong or revoked: install the app again and update bot_token_file"
	case "missing_scope":
		return "; give the app the chat:write scope"
	}
	return ""
}

// bare drops the URL the HTTP client puts in its errors: a response_url is
// a capability, like a webhook URL.
func bare(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Render builds the message for a notification.
func Render(note *notify.Notification) Message {
	msg := Message{Text: notify.GroupTitle(note)}
	switch {
	case note.Action() != notify.ActionTrigger:
		text := escape(notify.Title(note.Event()))
		// An acknowledgement or resolution links to the case too.
		if l := note.CaseLink(note.Event().GetCase().GetId()); l != "" {
			text += fmt.Sprintf("\n<%s|Open case>", l)
		}
		msg.Blocks = []Block{section(text)}
	case note.Grouped():
		msg.Blocks = groupBlocks(note)
	default:
		msg.Blocks = caseBlocks(note, note.Event())
	}
	return msg
}

func caseBlocks(note *notify.Notification, ev *fbv1.CaseEvent) []Block {
	c := ev.GetCase()
	blocks := []Block{
		{"type": "header", "text": plain(notify.Truncate(notify.Title(ev), maxHeader))},
		{"type": "section", "fields": []any{
			mrkdwn("*Author*\n" + escape(notify.Author(c))),
			mrkdwn("*Reach*\n" + escape(notify.ReachText(c))),
			mrkdwn("*Priority*\n" + notify.PriorityName(c.GetPriority())),
			mrkdwn("*Team*\n" + escape(c.GetTeam())),
		}},
	}
	if rs := notify.Reasons(ev); len(rs) > 0 {
		blocks = append(blocks, section("*Why*\n• "+escape(strings.Join(rs, "\n• "))))
	}
	texts := c.GetTexts()
	for _, t := range texts[max(0, len(texts)-maxTexts):] {
		blocks = append(blocks, section("> "+strings.ReplaceAll(escape(t), "\n", "\n> ")))
	}
	return append(blocks, actions(note, c))
}

// actions are the buttons for the case as it stands: Acknowledge while it
// is open, Snooze 1h until it is snoozed or resolved, Resolve until it is
// resolved, and the link to the case.
func actions(note *notify.Notification, c *fbv1.Case) Block {
	var buttons []any
	resolved := c.GetState() == fbv1.CaseState_CASE_STATE_RESOLVED
	if c.GetState() == fbv1.CaseState_CASE_STATE_OPEN {
		buttons = append(buttons, ackButton(c))
	}
	if !resolved && c.GetSnoozedUntil() == nil {
		buttons = append(buttons, Block{"type": "button", "text": plain("Snooze 1h"), "action_id": SnoozeActionID, "value": notify.EpisodeRef(c)})
	}
	if !resolved {
		buttons = append(buttons, Block{"type": "button", "text": plain("Resolve"), "style": "danger", "action_id": ResolveActionID, "value": notify.EpisodeRef(c)})
	}
	if l := note.CaseLink(c.GetId()); l != "" {
		buttons = append(buttons, Block{"type": "button", "text": plain("Open case"), "url": l, "action_id": "firebreak_open"})
	}
	return Block{"type": "actions", "elements": buttons}
}

// Taken is the message as it reads once someone acted on the case (ev is
// the acknowledged, snoozed, unsnoozed or resolved event): the case, who
// took it and how they signed in, and the buttons still meaningful.
func Taken(ev *fbv1.CaseEvent, linkBase string) Message {
	note := &notify.Notification{Events: []*fbv1.CaseEvent{ev}, LinkBase: linkBase}
	c := ev.GetCase()
	who := escape(ev.GetActor())
	if who == "" {
		who = "someone"
	}
	if how := ev.GetVia(); how != "" {
		who += " (" + escape(how) + ")"
	} else if how := ev.GetAuthMethod(); how != "" {
		who += " (" + escape(how) + ")"
	}
	at := ev.GetAt().AsTime().UTC().Format("15:04 MST")
	var line string
	switch ev.GetType() {
	case fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED:
		line = fmt.Sprintf(":white_check_mark: *Acknowledged* by %s at %s", who, at)
	case fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED:
		line = fmt.Sprintf(":heavy_check_mark: *Resolved* by %s at %s", who, at)
	case fbv1.CaseEventType_CASE_EVENT_TYPE_SNOOZED:
		line = fmt.Sprintf(":zzz: *Snoozed* by %s until %s", who, c.GetSnoozedUntil().AsTime().UTC().Format("15:04 MST"))
	case fbv1.CaseEventType_CASE_EVENT_TYPE_UNSNOOZED:
		line = fmt.Sprintf(":alarm_clock: *Snooze ended* at %s; the chain goes on", at)
	default:
		line = fmt.Sprintf("Case %s is %s", escape(c.GetId()), strings.ToLower(strings.TrimPrefix(c.GetState().String(), "CASE_STATE_")))
	}
	header := fmt.Sprintf("[%s] %s on %s: %s", c.GetBrand(), notify.Author(c), strings.ToLower(strings.TrimPrefix(c.GetPlatform().String(), "PLATFORM_")), notify.PriorityName(c.GetPriority()))
	blocks := []Block{
		{"type": "header", "text": plain(notify.Truncate(header, maxHeader))},
		section(line),
		{"type": "section", "fields": []any{
			mrkdwn("*Author*\n" + escape(notify.Author(c))),
			mrkdwn("*Reach*\n" + escape(notify.ReachText(c))),
		}},
		actions(note, c),
	}
	return Message{Text: notify.Truncate(header+" — "+stripMarkup(line), maxText), Blocks: blocks}
}

// stripMarkup keeps the words of a mrkdwn line for the plain-text fallback.
func stripMarkup(s string) string {
	for _, e := range []string{":white_check_mark: ", ":heavy_check_mark: ", ":zzz: ", ":alarm_clock: "} {
		s = strings.TrimPrefix(s, e)
	}
	return strings.ReplaceAll(s, "*", "")
}

func groupBlocks(note *notify.Notification) []Block {
	blocks := []Block{{"type": "header", "text": plain(notify.Truncate(notify.GroupTitle(note), maxHeader))}}
	for i, ev := range note.Events {
		if i == maxCasesShown {
			blocks = append(blocks, section(fmt.Sprintf("…and %d more cases.", len(note.Events)-i)))
			break
		}
		c := ev.GetCase()
		text := escape(notify.Title(ev)) + "\n" + escape(notify.ReachText(c))
		if l := note.CaseLink(c.GetId()); l != "" {
			text += fmt.Sprintf("\n<%s|Open case>", l)
		}
		b := section(text)
		b["accessory"] = ackButton(c)
		blocks = append(blocks, b)
	}
	return blocks
}

// ackButton's value names the case's episode (notify.EpisodeRef), so a
// click on the message of an earlier episode does not act on a later one.
func ackButton(c *fbv1.Case) Block {
	return Block{"type": "button", "text": plain("Acknowledge"), "style": "primary", "action_id": AckActionID, "value": notify.EpisodeRef(c)}
}

func section(text string) Block {
	return Block{"type": "section", "text": mrkdwn(notify.Truncate(text, maxText))}
}

func plain(s string) Block { return Block{"type": "plain_text", "text": s, "emoji": true} }

func mrkdwn(s string) Block { return Block{"type": "mrkdwn", "text": s} }

// escape applies Slack's mrkdwn escaping, so a complaint's text cannot
// mention @channel or forge links.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
