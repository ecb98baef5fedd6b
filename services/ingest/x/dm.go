package x

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// X Activity API legacy (unencrypted) DM events, filtered by the brand's
// user id. The encrypted XChat events (chat.received, chat.sent) carry
// only ciphertext that no maintained Go library decrypts, and are ignored.
const (
	eventDMReceived = "dm.received"
	eventDMSent     = "dm.sent"
)

// dmEvent is a direct message event as both APIs deliver it: the v1.1
// shape, with the text under message_create.message_data.
type dmEvent struct {
	Type             string `json:"type"`
	ID               string `json:"id"`
	CreatedTimestamp string `json:"created_timestamp"`
	MessageCreate    struct {
		Target struct {
			RecipientID string `json:"recipient_id"`
		} `json:"target"`
		SenderID    string `json:"sender_id"`
		MessageData struct {
			Text string `json:"text"`
		} `json:"message_data"`
	} `json:"message_create"`
}

// dmPayload is the payload of dm.received and dm.sent: the events and the
// users they name, each wrapped in "data".
type dmPayload struct {
	Events []dmEvent `json:"direct_message_events"`
	Users  map[string]struct {
		Data v2User `json:"data"`
	} `json:"users"`
}

func parseDM(ev activityEvent, brands Brands) (Delivery, error) {
	brand, ok := brands[ev.Filter.UserID]
	if !ok {
		return Delivery{}, fmt.Errorf("X Activity API %s event filtered on user %q, which is not a configured brand; add the brand's user id to --x-brands", ev.EventType, ev.Filter.UserID)
	}
	var p dmPayload
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return Delivery{}, fmt.Errorf("malformed X Activity API %s payload: %w", ev.EventType, err)
	}
	users := make(map[string]*fbv1.Author, len(p.Users))
	for id, u := range p.Users {
		if u.Data.ID == id {
			users[id] = u.Data.author()
		}
	}
	d := Delivery{EventID: ev.EventUUID}
	for _, e := range p.Events {
		// X names the event by what the filtered user did; a sent DM
		// whose sender is someone else would be a misrouted delivery.
		sent := e.MessageCreate.SenderID == ev.Filter.UserID
		if sent != (ev.EventType == eventDMSent) {
			return Delivery{}, fmt.Errorf("X Activity API %s event %s for user %s: sender %s does not fit the event type", ev.EventType, e.ID, ev.Filter.UserID, e.MessageCreate.SenderID)
		}
		m, ok, err := e.mention(brand, ev.Filter.UserID, users)
		if err != nil {
			return Delivery{}, err
		}
		if ok {
			d.Mentions = append(d.Mentions, m)
		}
	}
	return d, nil
}

// mention turns a DM to or from the brand's account brandID into a
// private mention: from a customer, a mention by them; from the brand, a
// brand reply to the other member of the conversation. A DM that is not
// the brand's (or is the brand's to itself) is nothing.
func (e *dmEvent) mention(brand, brandID string, users map[string]*fbv1.Author) (*fbv1.Mention, bool, error) {
	if e.Type != "message_create" {
		return nil, false, nil
	}
	sender, recipient := e.MessageCreate.SenderID, e.MessageCreate.Target.RecipientID
	if e.ID == "" || sender == "" || recipient == "" {
		return nil, false, fmt.Errorf("X direct message event %q lacks an id, sender or recipient", e.ID)
	}
	if sender == recipient || (sender != brandID && recipient != brandID) {
		return nil, false, nil
	}
	m := &fbv1.Mention{
		Platform: fbv1.Platform_PLATFORM_X, PlatformId: "dm-" + e.ID, Brand: brand,
		Text: e.MessageCreate.MessageData.Text, Visibility: fbv1.Visibility_VISIBILITY_PRIVATE,
		ConversationId: dmConversationID(sender, recipient),
		Author:         &fbv1.Author{Id: sender},
	}
	if a, ok := users[sender]; ok {
		m.Author = a
	}
	if sender == brandID {
		m.BrandReply, m.ReplyToAuthorId = true, recipient
	}
	if e.CreatedTimestamp != "" {
		ms, err := strconv.ParseInt(e.CreatedTimestamp, 10, 64)
		if err != nil || ms <= 0 {
			return nil, false, fmt.Errorf("X direct message %s created_timestamp %q is not milliseconds since the epoch", e.ID, e.CreatedTimestamp)
		}
		m.CreatedAt = timestamppb.New(time.UnixMilli(ms))
	}
	return m, true, nil
}

// dmConversationID is X's id of a one-to-one conversation: the two user
// ids, lower first, joined by a dash.
func dmConversationID(a, b string) string {
	if len(a) > len(b) || len(a) == len(b) && a > b {
		a, b = b, a
	}
	return "dm-" + a + "-" + b
}
