// Package bluesky takes mentions in from Bluesky's Jetstream: posts whose
// mention facets name a brand's DID (Jetstream cannot filter on that, so
// every post is read and most are passed over), and the brand's own replies.
// event.go is pure; jetstream.go is the websocket adapter.
package bluesky

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Brands maps a brand's DID to its Firebreak brand name.
type Brands map[string]string

// Event is one Jetstream message.
type Event struct {
	DID    string  `json:"did"`
	TimeUS int64   `json:"time_us"`
	Kind   string  `json:"kind"`
	Commit *Commit `json:"commit"`
}

// Commit is a repository change.
type Commit struct {
	Operation  string          `json:"operation"`
	Collection string          `json:"collection"`
	RKey       string          `json:"rkey"`
	CID        string          `json:"cid"`
	Record     json.RawMessage `json:"record"`
}

// post is an app.bsky.feed.post record.
type post struct {
	Text      string   `json:"text"`
	CreatedAt string   `json:"createdAt"`
	Langs     []string `json:"langs"`
	Facets    []struct {
		Features []struct {
			Type string `json:"$type"`
			DID  string `json:"did"`
		} `json:"features"`
	} `json:"facets"`
	Reply *replyRef `json:"reply"`
	// Embed is a quoted post (app.bsky.embed.record) or one with media
	// (app.bsky.embed.recordWithMedia, the record one level down).
	Embed *struct {
		Type   string `json:"$type"`
		Record *struct {
			URI    string     `json:"uri"`
			Record *strongRef `json:"record"`
		} `json:"record"`
	} `json:"embed"`
}

// quoted is the Firebreak id of the post p quotes, if it quotes one.
func (p *post) quoted() string {
	if p.Embed == nil || p.Embed.Record == nil {
		return ""
	}
	switch p.Embed.Type {
	case "app.bsky.embed.record":
		return atURIToID(p.Embed.Record.URI)
	case "app.bsky.embed.recordWithMedia":
		if p.Embed.Record.Record != nil {
			return atURIToID(p.Embed.Record.Record.URI)
		}
	}
	return ""
}

type replyRef struct {
	Root   strongRef `json:"root"`
	Parent strongRef `json:"parent"`
}

type strongRef struct {
	URI string `json:"uri"`
}

const (
	postCollection = "app.bsky.feed.post"
	mentionFeature = "app.bsky.richtext.facet#mention"
)

// Parse reads one Jetstream message.
func Parse(data []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		return Event{}, fmt.Errorf("malformed Jetstream event: %w", err)
	}
	if e.TimeUS <= 0 {
		return Event{}, fmt.Errorf("jetstream event from %q has no time_us", e.DID)
	}
	return e, nil
}

// Mention returns the mention or brand reply an event is, if any: a post
// created by a brand in reply to someone else, or a post by anyone else
// whose facets mention a brand.
func (e Event) Mention(brands Brands) (*fbv1.Mention, bool, error) {
	c := e.Commit
	if e.Kind != "commit" || c == nil || c.Operation != "create" || c.Collection != postCollection {
		return nil, false, nil
	}
	var p post
	if err := json.Unmarshal(c.Record, &p); err != nil {
		return nil, false, fmt.Errorf("malformed post record %s/%s: %w", e.DID, c.RKey, err)
	}
	m := &fbv1.Mention{
		Platform: fbv1.Platform_PLATFORM_BLUESKY, PlatformId: e.DID + "/" + c.RKey, Text: p.Text,
		Author:    &fbv1.Author{Id: e.DID},
		Url:       "https://bsky.app/profile/" + e.DID + "/post/" + c.RKey,
		CreatedAt: timestamppb.New(e.createdAt(p.CreatedAt)),
	}
	if len(p.Langs) > 0 {
		m.Language = p.Langs[0]
	}
	if p.Reply != nil {
		m.ReplyToId = atURIToID(p.Reply.Parent.URI)
		m.ConversationId = atURIToID(p.Reply.Root.URI)
	}
	m.QuoteOfId = p.quoted()
	if brand, ok := brands[e.DID]; ok {
		parentAuthor := atURIAuthor(p.Reply)
		if parentAuthor == "" || parentAuthor == e.DID {
			return nil, false, nil // the brand posting on its own or threading
		}
		m.Brand, m.BrandReply, m.ReplyToAuthorId = brand, true, parentAuthor
		return m, true, nil
	}
	for _, f := range p.Facets {
		for _, feat := range f.Features {
			if brand, ok := brands[feat.DID]; ok && feat.Type == mentionFeature {
				m.Brand = brand
				return m, true, nil
			}
		}
	}
	return nil, false, nil
}

// createdAt trusts the record's own time unless it claims to be later than
// Jetstream saw it: createdAt is set by the client and can be anything.
func (e Event) createdAt(recorded string) time.Time {
	seen := time.UnixMicro(e.TimeUS).UTC()
	at, err := time.Parse(time.RFC3339Nano, recorded)
	if err != nil || at.After(seen) {
		return seen
	}
	return at
}

// atURIAuthor is the DID in a reply's parent at://DID/collection/rkey.
func atURIAuthor(reply *replyRef) string {
	if reply == nil {
		return ""
	}
	rest, ok := strings.CutPrefix(reply.Parent.URI, "at://")
	if !ok {
		return ""
	}
	did, _, _ := strings.Cut(rest, "/")
	return did
}

// atURIToID turns at://DID/app.bsky.feed.post/RKEY into the mention id the
// post would have.
func atURIToID(uri string) string {
	rest, ok := strings.CutPrefix(uri, "at://")
	if !ok {
		return ""
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[1] != postCollection {
		return ""
	}
	return "bluesky:" + parts[0] + "/" + parts[2]
}
