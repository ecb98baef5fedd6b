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

// Parse reads one webhook delivery of either API and returns the mentions
// and brand replies in it, not yet normalised. Events of other kinds
// (likes, follows, DMs, deletes) are ignored: they are not mentions. A
// delivery for an account that is not a configured brand is an error, so a
// misrouted webhook is noticed rather than silently dropped.
func Parse(body []byte, brands Brands) ([]*fbv1.Mention, error) {
	var probe struct {
		Data      json.RawMessage `json:"data"`
		ForUserID string          `json:"for_user_id"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("malformed X webhook JSON: %w", err)
	}
	switch {
	case probe.Data != nil:
		return parseActivity(probe.Data, brands)
	case probe.ForUserID != "":
		return parseAccountActivity(body, brands)
	}
	return nil, errors.New("X webhook body has neither data (Activity API) nor for_user_id (Account Activity API)")
}

// activityEvent is the X Activity API envelope.
type activityEvent struct {
	EventType string `json:"event_type"`
	Filter    struct {
		UserID string `json:"user_id"`
	} `json:"filter"`
	Payload  json.RawMessage `json:"payload"`
	Includes struct {
		Users []v2User `json:"users"`
	} `json:"includes"`
}

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

func parseActivity(data json.RawMessage, brands Brands) ([]*fbv1.Mention, error) {
	var ev activityEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("malformed X Activity API event: %w", err)
	}
	if ev.EventType != "post.create" {
		return nil, nil
	}
	var p v2Post
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return nil, fmt.Errorf("malformed post in X Activity API event: %w", err)
	}
	// A subscription filters on a user (the brand, or a customer being
	// watched) or on a keyword, so the brand is the filtered user, the
	// user the post answers, or the only brand there is.
	brandID, brand, ok := brands.resolve(ev.Filter.UserID, p.InReplyToUserID)
	if !ok {
		return nil, fmt.Errorf("X Activity API post %s concerns none of the configured brands (filter user %q, reply to %q); add the brand's user id to --x-brands", p.ID, ev.Filter.UserID, p.InReplyToUserID)
	}
	for _, ref := range p.ReferencedTweets {
		if ref.Type == "retweeted" {
			return nil, nil // a repost says nothing new
		}
	}
	m := &fbv1.Mention{
		Platform: fbv1.Platform_PLATFORM_X, PlatformId: p.ID, Brand: brand, Text: p.Text,
		Language: p.Lang, ConversationId: p.ConversationID, Url: postURL("", p.ID),
		Author: &fbv1.Author{Id: p.AuthorID},
		Metrics: &fbv1.PublicMetrics{Reposts: p.PublicMetrics.RetweetCount, Likes: p.PublicMetrics.LikeCount,
			Replies: p.PublicMetrics.ReplyCount, Quotes: p.PublicMetrics.QuoteCount},
	}
	for _, ref := range p.ReferencedTweets {
		if ref.Type == "replied_to" {
			m.ReplyToId = "x:" + ref.ID
		}
	}
	for _, u := range ev.Includes.Users {
		if u.ID == p.AuthorID {
			m.Author = &fbv1.Author{Id: u.ID, Handle: u.Username, Name: u.Name, Verified: u.Verified,
				Followers: u.PublicMetrics.FollowersCount, Following: u.PublicMetrics.FollowingCount}
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
	return keep(m, brandID, p.InReplyToUserID), nil
}

// resolve returns the first candidate that is a brand's user id, or the
// only brand when there is one.
func (b Brands) resolve(userIDs ...string) (id, brand string, ok bool) {
	for _, u := range userIDs {
		if name, ok := b[u]; ok {
			return u, name, true
		}
	}
	if len(b) == 1 {
		for id, name := range b {
			return id, name, true
		}
	}
	return "", "", false
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
	ForUserID         string     `json:"for_user_id"`
	TweetCreateEvents []v1Status `json:"tweet_create_events"`
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
