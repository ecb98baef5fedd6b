package x

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Brands maps a brand's X user id to its Firebreak brand name.
type Brands map[string]string

// Delivery is what one webhook call carries: the mentions and brand
// replies in it, not yet normalised, and the X Activity API's event id,
// by which a delivery sent twice is recognised ("" for the Account
// Activity API, whose deliveries carry none).
type Delivery struct {
	EventID  string
	Mentions []*fbv1.Mention
}

// MaxEventIDBytes bounds an event id kept for dedup.
const MaxEventIDBytes = 128

// Parse reads one webhook delivery of either API. Events of other kinds
// (likes, follows, deletes, encrypted chats) are ignored: they are not
// mentions. A delivery for an account that is not a configured brand is an
// error, so a misrouted webhook is noticed rather than silently dropped.
func Parse(body []byte, brands Brands) (Delivery, error) {
	var probe struct {
		Data      json.RawMessage `json:"data"`
		ForUserID string          `json:"for_user_id"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return Delivery{}, fmt.Errorf("malformed X webhook JSON: %w", err)
	}
	switch {
	case probe.Data != nil:
		return parseActivity(probe.Data, brands)
	case probe.ForUserID != "":
		ms, err := parseAccountActivity(body, brands)
		return Delivery{Mentions: ms}, err
	}
	return Delivery{}, errors.New("X webhook body has neither data (Activity API) nor for_user_id (Account Activity API)")
}

// activityEvent is the X Activity API envelope. X documents user_id as
// the only filter of the events read here.
type activityEvent struct {
	EventUUID string `json:"event_uuid"`
	EventType string `json:"event_type"`
	Filter    struct {
		UserID string `json:"user_id"`
	} `json:"filter"`
	Payload  json.RawMessage `json:"payload"`
	Includes struct {
		Users []v2User `json:"users"`
	} `json:"includes"`
}

// X Activity API event types taken in. The customer's side arrives as
// mentions of, replies to and quotes of the brand, each filtered by the
// brand's user id; the brand's own posts as post.create for that id.
const (
	eventPostCreate    = "post.create"
	eventMentionCreate = "post.mention.create"
	eventReplyCreate   = "post.reply.create"
	eventQuoteCreate   = "post.quote.create"
)

// v2Post is a Post object of X API v2.
type v2Post struct {
	ID               string `json:"id"`
	Text             string `json:"text"`
	AuthorID         string `json:"author_id"`
	CreatedAt        string `json:"created_at"`
	ConversationID   string `json:"conversation_id"`
	InReplyToUserID  string `json:"in_reply_to_user_id"`
	Lang             string `json:"lang"`
	ReferencedTweets []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"referenced_tweets"`
	PublicMetrics struct {
		RetweetCount int64 `json:"retweet_count"`
		ReplyCount   int64 `json:"reply_count"`
		LikeCount    int64 `json:"like_count"`
		QuoteCount   int64 `json:"quote_count"`
	} `json:"public_metrics"`
}

// v2User is a User object of X API v2.
type v2User struct {
	ID            string `json:"id"`
	Username      string `json:"username"`
	Name          string `json:"name"`
	Verified      bool   `json:"verified"`
	PublicMetrics struct {
		FollowersCount int64 `json:"followers_count"`
		FollowingCount int64 `json:"following_count"`
	} `json:"public_metrics"`
}

func (u v2User) author() *fbv1.Author {
	return &fbv1.Author{Id: u.ID, Handle: u.Username, Name: u.Name, Verified: u.Verified,
		Followers: u.PublicMetrics.FollowersCount, Following: u.PublicMetrics.FollowingCount}
}

func parseActivity(data json.RawMessage, brands Brands) (Delivery, error) {
	var ev activityEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return Delivery{}, fmt.Errorf("malformed X Activity API event: %w", err)
	}
	if len(ev.EventUUID) > MaxEventIDBytes {
		return Delivery{}, fmt.Errorf("X Activity API event_uuid is longer than %d bytes", MaxEventIDBytes)
	}
	d := Delivery{EventID: ev.EventUUID}
	switch ev.EventType {
	case eventPostCreate, eventMentionCreate, eventReplyCreate, eventQuoteCreate:
	case eventDMReceived, eventDMSent:
		return parseDM(ev, brands)
	default:
		return d, nil
	}
	brand, ok := brands[ev.Filter.UserID]
	if !ok {
		return Delivery{}, fmt.Errorf("X Activity API %s event filtered on user %q, which is not a configured brand; subscribe with the brand's user id as filter and add it to --x-brands", ev.EventType, ev.Filter.UserID)
	}
	var p v2Post
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return Delivery{}, fmt.Errorf("malformed post in X Activity API %s event: %w", ev.EventType, err)
	}
	if p.ID == "" || p.AuthorID == "" {
		return Delivery{}, fmt.Errorf("X Activity API %s event carries a post without id or author_id", ev.EventType)
	}
	if p.reposts() {
		return d, nil // a repost says nothing new
	}
	m, err := p.mention(brand, ev.Includes.Users)
	if err != nil {
		return Delivery{}, err
	}
	if ev.EventType == eventPostCreate {
		// X sends post.create only for posts by the filtered user: the
		// brand's own. Anything else is not the brand's to answer for.
		if p.AuthorID != ev.Filter.UserID {
			return Delivery{}, fmt.Errorf("X Activity API post.create for user %s carries post %s by %s; X sends post.create only for the filtered user's posts", ev.Filter.UserID, p.ID, p.AuthorID)
		}
		d.Mentions = keep(m, ev.Filter.UserID, p.InReplyToUserID)
		return d, nil
	}
	if p.AuthorID == ev.Filter.UserID {
		return d, nil // the brand naming itself; its own posts come as post.create
	}
	d.Mentions = []*fbv1.Mention{m}
	return d, nil
}

func (p *v2Post) reposts() bool {
	for _, ref := range p.ReferencedTweets {
		if ref.Type == "retweeted" {
			return true
		}
	}
	return false
}

// mention is the post as a mention of brand, its author filled from the
// delivery's includes when X expanded them.
func (p *v2Post) mention(brand string, users []v2User) (*fbv1.Mention, error) {
	m := &fbv1.Mention{
		Platform: fbv1.Platform_PLATFORM_X, PlatformId: p.ID, Brand: brand, Text: p.Text,
		Language: p.Lang, ConversationId: p.ConversationID, Url: postURL("", p.ID),
		Author:     &fbv1.Author{Id: p.AuthorID},
		Visibility: fbv1.Visibility_VISIBILITY_PUBLIC,
		Metrics: &fbv1.PublicMetrics{Reposts: p.PublicMetrics.RetweetCount, Likes: p.PublicMetrics.LikeCount,
			Replies: p.PublicMetrics.ReplyCount, Quotes: p.PublicMetrics.QuoteCount},
	}
	for _, ref := range p.ReferencedTweets {
		switch ref.Type {
		case "replied_to":
			m.ReplyToId = "x:" + ref.ID
		case "quoted":
			m.QuoteOfId = "x:" + ref.ID
		}
	}
	for _, u := range users {
		if u.ID == p.AuthorID {
			m.Author = u.author()
			m.Url = postURL(u.Username, p.ID)
		}
	}
	if p.CreatedAt != "" {
		at, err := time.Parse(time.RFC3339, p.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("post %s created_at %q is not RFC 3339", p.ID, p.CreatedAt)
		}
		m.CreatedAt = timestamppb.New(at)
	}
	return m, nil
}

// keep decides what a post is to the brand whose account brandID is: a
// brand reply when the brand answers someone else, nothing when the brand
// posts on its own, else a mention.
func keep(m *fbv1.Mention, brandID, inReplyToUserID string) []*fbv1.Mention {
	if m.Author.Id != brandID {
		return []*fbv1.Mention{m}
	}
	if inReplyToUserID == "" || inReplyToUserID == brandID {
		return nil // an announcement or a thread of its own
	}
	m.BrandReply = true
	m.ReplyToAuthorId = inReplyToUserID
	return []*fbv1.Mention{m}
}

// accountActivity is the Account Activity API delivery.
type accountActivity struct {
	ForUserID           string     `json:"for_user_id"`
	TweetCreateEvents   []v1Status `json:"tweet_create_events"`
	DirectMessageEvents []dmEvent  `json:"direct_message_events"`
	// Users are the DMs' senders and recipients, by id.
	Users map[string]v1User `json:"users"`
}

// v1User is a User object of the v1.1 API, as Account Activity delivers it.
type v1User struct {
	ID             string `json:"id"`
	ScreenName     string `json:"screen_name"`
	Name           string `json:"name"`
	FollowersCount int64  `json:"followers_count"`
	FriendsCount   int64  `json:"friends_count"`
	Verified       bool   `json:"verified"`
}

// v1Status is a Tweet object of the v1.1 API.
type v1Status struct {
	IDStr                string `json:"id_str"`
	Text                 string `json:"text"`
	FullText             string `json:"full_text"`
	Truncated            bool   `json:"truncated"`
	CreatedAt            string `json:"created_at"`
	Lang                 string `json:"lang"`
	InReplyToStatusIDStr string `json:"in_reply_to_status_id_str"`
	InReplyToUserIDStr   string `json:"in_reply_to_user_id_str"`
	QuotedStatusIDStr    string `json:"quoted_status_id_str"`
	RetweetCount         int64  `json:"retweet_count"`
	FavoriteCount        int64  `json:"favorite_count"`
	ReplyCount           int64  `json:"reply_count"`
	QuoteCount           int64  `json:"quote_count"`
	RetweetedStatus      *struct {
		IDStr string `json:"id_str"`
	} `json:"retweeted_status"`
	ExtendedTweet *struct {
		FullText string `json:"full_text"`
	} `json:"extended_tweet"`
	User struct {
		IDStr          string `json:"id_str"`
		ScreenName     string `json:"screen_name"`
		Name           string `json:"name"`
		FollowersCount int64  `json:"followers_count"`
		FriendsCount   int64  `json:"friends_count"`
		Verified       bool   `json:"verified"`
	} `json:"user"`
}

// v1Time is the v1.1 API's created_at layout.
const v1Time = "Mon Jan 02 15:04:05 -0700 2006"

func parseAccountActivity(body []byte, brands Brands) ([]*fbv1.Mention, error) {
	var aa accountActivity
	if err := json.Unmarshal(body, &aa); err != nil {
		return nil, fmt.Errorf("malformed Account Activity API event: %w", err)
	}
	brand, ok := brands[aa.ForUserID]
	if !ok {
		return nil, fmt.Errorf("Account Activity API event for user %q, which is not a configured brand; add it to --x-brands", aa.ForUserID)
	}
	var out []*fbv1.Mention
	for _, st := range aa.TweetCreateEvents {
		if st.RetweetedStatus != nil {
			continue
		}
		m, err := st.mention(brand)
		if err != nil {
			return nil, err
		}
		out = append(out, keep(m, aa.ForUserID, st.InReplyToUserIDStr)...)
	}
	users := make(map[string]*fbv1.Author, len(aa.Users))
	for id, u := range aa.Users {
		users[id] = &fbv1.Author{Id: id, Handle: u.ScreenName, Name: u.Name,
			Followers: u.FollowersCount, Following: u.FriendsCount, Verified: u.Verified}
	}
	for _, e := range aa.DirectMessageEvents {
		m, ok, err := e.mention(brand, aa.ForUserID, users)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, m)
		}
	}
	return out, nil
}

func (st *v1Status) mention(brand string) (*fbv1.Mention, error) {
	text := st.Text
	if st.FullText != "" {
		text = st.FullText
	}
	if st.ExtendedTweet != nil && st.ExtendedTweet.FullText != "" {
		text = st.ExtendedTweet.FullText
	}
	m := &fbv1.Mention{
		Platform: fbv1.Platform_PLATFORM_X, PlatformId: st.IDStr, Brand: brand,
		// v1.1 escapes &, < and > in text.
		Text: html.UnescapeString(text), Language: st.Lang, Url: postURL(st.User.ScreenName, st.IDStr),
		Author: &fbv1.Author{Id: st.User.IDStr, Handle: st.User.ScreenName, Name: st.User.Name,
			Followers: st.User.FollowersCount, Following: st.User.FriendsCount, Verified: st.User.Verified},
		Metrics: &fbv1.PublicMetrics{Reposts: st.RetweetCount, Likes: st.FavoriteCount, Replies: st.ReplyCount, Quotes: st.QuoteCount},
	}
	if st.InReplyToStatusIDStr != "" {
		m.ReplyToId = "x:" + st.InReplyToStatusIDStr
	}
	if st.QuotedStatusIDStr != "" {
		m.QuoteOfId = "x:" + st.QuotedStatusIDStr
	}
	if st.CreatedAt != "" {
		at, err := time.Parse(v1Time, st.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("tweet %s created_at %q is not like %q", st.IDStr, st.CreatedAt, v1Time)
		}
		m.CreatedAt = timestamppb.New(at)
	}
	return m, nil
}

func postURL(handle, id string) string {
	if handle == "" {
		handle = "i/web"
	}
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return ""
	}
	return "https://x.com/" + handle + "/status/" + id
}
