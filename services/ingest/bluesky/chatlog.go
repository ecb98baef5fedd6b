package bluesky

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Types of chat.bsky.convo.getLog entries and message views used here.
const (
	logCreateMessage = "chat.bsky.convo.defs#logCreateMessage"
	messageView      = "chat.bsky.convo.defs#messageView"
)

// LogEntry is one entry of chat.bsky.convo.getLog. Only logCreateMessage
// entries whose message is a messageView (not a deletedMessageView) carry
// a text to take in.
type LogEntry struct {
	Type    string `json:"$type"`
	Rev     string `json:"rev"`
	ConvoID string `json:"convoId"`
	Message *struct {
		Type   string `json:"$type"`
		ID     string `json:"id"`
		Text   string `json:"text"`
		SentAt string `json:"sentAt"`
		Sender struct {
			DID string `json:"did"`
		} `json:"sender"`
	} `json:"message"`
	RelatedProfiles []struct {
		DID         string `json:"did"`
		Handle      string `json:"handle"`
		DisplayName string `json:"displayName"`
	} `json:"relatedProfiles"`
}

// ParseLogEntry reads one log entry.
func ParseLogEntry(raw []byte) (LogEntry, error) {
	var e LogEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return LogEntry{}, fmt.Errorf("malformed chat log entry: %w", err)
	}
	if e.Type == "" {
		return LogEntry{}, fmt.Errorf("chat log entry at rev %q has no $type", e.Rev)
	}
	return e, nil
}

// IsMessage reports whether the entry is a message sent in a conversation.
func (e LogEntry) IsMessage() bool {
	return e.Type == logCreateMessage && e.Message != nil && e.Message.Type == messageView &&
		e.ConvoID != "" && e.Message.ID != "" && e.Message.Sender.DID != ""
}

// Mention turns a message in the brand's direct conversation with other
// into a private mention: by the customer, their mention; by the brand
// (whose account is brandDID), its reply to the customer. A message in a
// group conversation (other == "") is not taken: who it answers is unclear.
func (e LogEntry) Mention(brand, brandDID, other string) (*fbv1.Mention, bool) {
	if !e.IsMessage() || other == "" {
		return nil, false
	}
	msg := e.Message
	sender := msg.Sender.DID
	if sender != brandDID && sender != other {
		return nil, false
	}
	m := &fbv1.Mention{
		Platform: fbv1.Platform_PLATFORM_BLUESKY, PlatformId: "chat/" + e.ConvoID + "/" + msg.ID, Brand: brand,
		Text: msg.Text, Visibility: fbv1.Visibility_VISIBILITY_PRIVATE, ConversationId: "bluesky:chat/" + e.ConvoID,
		Author: &fbv1.Author{Id: sender},
	}
	for _, p := range e.RelatedProfiles {
		if p.DID == sender {
			m.Author.Handle, m.Author.Name = p.Handle, p.DisplayName
		}
	}
	if at, err := time.Parse(time.RFC3339Nano, msg.SentAt); err == nil {
		m.CreatedAt = timestamppb.New(at)
	}
	if sender == brandDID {
		m.BrandReply, m.ReplyToAuthorId = true, other
	}
	return m, true
}
