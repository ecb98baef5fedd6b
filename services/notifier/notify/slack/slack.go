// Package slack posts cases to Slack through an incoming webhook as Block Kit
// messages with an Acknowledge button, and serves the button's interaction
// requests after checking Slack's request signature.
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/clock"
)

// AckActionID is the action_id of the Acknowledge button.
const AckActionID = "firebreak_acknowledge"

// Config is one incoming webhook.
type Config struct {
	// WebhookURL is the hooks.slack.com URL; it is a secret since anyone
	// holding it can post to the channel.
	WebhookURL notify.Secret
}

// Notifier posts to one incoming webhook.
type Notifier struct {
	cfg    Config
	client *http.Client
	clock  clock.Clock
}

// New returns a Notifier for one webhook.
func New(cfg Config, client *http.Client, clock clock.Clock) *Notifier {
	return &Notifier{cfg: cfg, client: client, clock: clock}
}

// Message is the webhook body: text is the notification fallback, blocks
// the rendered message.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks"`
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
	body, err := json.Marshal(Render(note))
	if err != nil {
		return notify.NoRetry(fmt.Errorf("encode Slack message %s: %w", note.DedupKey, err))
	}
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	return notify.Post(ctx, n.client, n.clock, string(n.cfg.WebhookURL), h, body)
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
	buttons := []any{ackButton(c)}
	if l := note.CaseLink(c.GetId()); l != "" {
		buttons = append(buttons, Block{"type": "button", "text": plain("Open case"), "url": l, "action_id": "firebreak_open"})
	}
	return append(blocks, Block{"type": "actions", "elements": buttons})
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
