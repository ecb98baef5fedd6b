// Package mastodon takes mentions in from a brand's Mastodon account: the
// user stream's mention notifications (JSON inside a JSON string, status
// text in HTML; a direct one is a private mention) and the brand's own
// replies, public ones from the user stream and direct ones from the
// direct stream, with catch-up through the notifications API after every
// reconnect. parse.go and text.go are pure;
// stream.go does the I/O.
package mastodon

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Message is one streaming API message. Payload is itself JSON, sent as a
// string.
type Message struct {
	Stream  []string `json:"stream"`
	Event   string   `json:"event"`
	Payload string   `json:"payload"`
}

// Notification is a notification entity.
type Notification struct {
	ID        string  `json:"id"`
	Type      string  `json:"type"`
	CreatedAt string  `json:"created_at"`
	Account   Account `json:"account"`
	Status    *Status `json:"status"`
}

// Status is a status entity.
type Status struct {
	ID                 string  `json:"id"`
	CreatedAt          string  `json:"created_at"`
	InReplyToID        string  `json:"in_reply_to_id"`
	InReplyToAccountID string  `json:"in_reply_to_account_id"`
	Visibility         string  `json:"visibility"`
	Language           string  `json:"language"`
	URL                string  `json:"url"`
	URI                string  `json:"uri"`
	Content            string  `json:"content"`
	ReblogsCount       int64   `json:"reblogs_count"`
	FavouritesCount    int64   `json:"favourites_count"`
	RepliesCount       int64   `json:"replies_count"`
	Account            Account `json:"account"`
	Reblog             *Status `json:"reblog"`
	// Quote is the post this one quotes (Mastodon 4.5's quote posts): the
	// quoted status in full, or only its id.
	Quote *struct {
		QuotedStatus *struct {
			ID string `json:"id"`
		} `json:"quoted_status"`
		QuotedStatusID string `json:"quoted_status_id"`
	} `json:"quote"`
}

// Account is an account entity.
type Account struct {
	ID             string `json:"id"`
	Username       string `json:"username"`
	Acct           string `json:"acct"`
	DisplayName    string `json:"display_name"`
	FollowersCount int64  `json:"followers_count"`
	FollowingCount int64  `json:"following_count"`
}

// Conversation is a conversation entity: a direct-message thread, with
// the other participants and its newest status.
type Conversation struct {
	ID         string    `json:"id"`
	Accounts   []Account `json:"accounts"`
	LastStatus *Status   `json:"last_status"`
}

// ParseMessage reads a streaming message and decodes its payload.
func ParseMessage(data []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return Message{}, fmt.Errorf("malformed Mastodon streaming message: %w", err)
	}
	if m.Event == "" {
		return Message{}, fmt.Errorf("mastodon streaming message has no event")
	}
	return m, nil
}

// Notification decodes a "notification" message's payload.
func (m Message) Notification() (Notification, error) {
	var n Notification
	if err := json.Unmarshal([]byte(m.Payload), &n); err != nil {
		return Notification{}, fmt.Errorf("malformed notification payload: %w", err)
	}
	if n.ID == "" {
		return Notification{}, fmt.Errorf("notification has no id")
	}
	return n, nil
}

// Conversation decodes a "conversation" message's payload (the direct
// stream).
func (m Message) Conversation() (Conversation, error) {
	var c Conversation
	if err := json.Unmarshal([]byte(m.Payload), &c); err != nil {
		return Conversation{}, fmt.Errorf("malformed conversation payload: %w", err)
	}
	return c, nil
}

// Status decodes an "update" message's payload.
func (m Message) Status() (Status, error) {
	var s Status
	if err := json.Unmarshal([]byte(m.Payload), &s); err != nil {
		return Status{}, fmt.Errorf("malformed status payload: %w", err)
	}
	return s, nil
}

// Mention is the mention a notification carries, if it is of type mention.
func (n Notification) Mention(brand string) (*fbv1.Mention, bool, error) {
	if n.Type != "mention" || n.Status == nil {
		return nil, false, nil
	}
	m, err := n.Status.mention(brand)
	return m, err == nil, err
}

// BrandReply is the brand reply a status on the brand's own timeline is:
// the brand's account answering someone else. Anything else on the home
// timeline is not Firebreak's business.
func (s Status) BrandReply(brand, brandAccountID string) (*fbv1.Mention, bool, error) {
	if s.Account.ID != brandAccountID || s.Reblog != nil || s.InReplyToAccountID == "" || s.InReplyToAccountID == brandAccountID {
		return nil, false, nil
	}
	m, err := s.mention(brand)
	if err != nil {
		return nil, false, err
	}
	m.BrandReply, m.ReplyToAuthorId = true, s.InReplyToAccountID
	return m, true, nil
}

// BrandReply is the brand's private reply a conversation's newest status
// is: a direct message by the brand's account to one other person, who is
// the customer it answers. A customer's direct message reaches the brand
// as a mention notification instead; a thread with several others is not
// taken, since whom it answers is unclear.
func (c Conversation) BrandReply(brand, brandAccountID string) (*fbv1.Mention, bool, error) {
	s := c.LastStatus
	if s == nil || s.Account.ID != brandAccountID || s.Visibility != "direct" || s.Reblog != nil {
		return nil, false, nil
	}
	customer := s.InReplyToAccountID
	if customer == "" || customer == brandAccountID {
		customer = ""
		var others []string
		for _, a := range c.Accounts {
			if a.ID != brandAccountID {
				others = append(others, a.ID)
			}
		}
		if len(others) != 1 {
			return nil, false, nil
		}
		customer = others[0]
	}
	m, err := s.mention(brand)
	if err != nil {
		return nil, false, err
	}
	m.BrandReply, m.ReplyToAuthorId = true, customer
	m.ConversationId = "mastodon:conversation/" + c.ID
	return m, true, nil
}

func (s Status) mention(brand string) (*fbv1.Mention, error) {
	at, err := time.Parse(time.RFC3339Nano, s.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("status %s created_at %q is not RFC 3339", s.ID, s.CreatedAt)
	}
	m := &fbv1.Mention{
		Platform: fbv1.Platform_PLATFORM_MASTODON, PlatformId: s.ID, Brand: brand,
		Text: Text(s.Content), Language: s.Language, Url: s.URL, CreatedAt: timestamppb.New(at),
		Author: &fbv1.Author{Id: s.Account.ID, Handle: s.Account.Acct, Name: s.Account.DisplayName,
			Followers: s.Account.FollowersCount, Following: s.Account.FollowingCount},
		Metrics:    &fbv1.PublicMetrics{Reposts: s.ReblogsCount, Likes: s.FavouritesCount, Replies: s.RepliesCount},
		Visibility: fbv1.Visibility_VISIBILITY_PUBLIC,
	}
	if s.Visibility == "private" || s.Visibility == "direct" {
		m.Visibility = fbv1.Visibility_VISIBILITY_PRIVATE
	}
	if s.InReplyToID != "" {
		m.ReplyToId = "mastodon:" + s.InReplyToID
	}
	if q := s.Quote; q != nil {
		id := q.QuotedStatusID
		if q.QuotedStatus != nil && q.QuotedStatus.ID != "" {
			id = q.QuotedStatus.ID
		}
		if id != "" {
			m.QuoteOfId = "mastodon:" + id
		}
	}
	return m, nil
}

// Newer reports whether Mastodon id a is newer than b. Ids are decimal
// strings of growing length, so compare by length, then bytes.
func Newer(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}
