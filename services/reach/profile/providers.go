package profile

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/firebreak/firebreak/services/platform/clock"
)

// X looks users up with GET /2/users?ids=... (at most 100 ids a call).
type X struct {
	BaseURL string // https://api.x.com
	Token   string // app bearer token
	Client  *http.Client
	lim     limiter
}

// NewX builds the X provider.
func NewX(baseURL, token string, client *http.Client) *X {
	return &X{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, Client: client, lim: limiter{clock: clock.System{}}}
}

// MaxBatch is X's limit of ids per users lookup.
func (*X) MaxBatch() int { return 100 }

// Lookup returns the profiles X knows of ids; ids X does not know are
// missing from the map.
func (p *X) Lookup(ctx context.Context, ids []string) (map[string]Profile, error) {
	q := url.Values{"ids": {strings.Join(ids, ",")}, "user.fields": {"public_metrics,verified"}}
	body, err := get(ctx, p.Client, p.BaseURL+"/2/users?"+q.Encode(), p.Token, &p.lim, "x-rate-limit-remaining", "x-rate-limit-reset", epochSeconds)
	if err != nil {
		return nil, err
	}
	return DecodeXUsers(body)
}

// DecodeXUsers reads a users lookup response.
func DecodeXUsers(body []byte) (map[string]Profile, error) {
	var r struct {
		Data []struct {
			ID            string `json:"id"`
			Verified      bool   `json:"verified"`
			PublicMetrics struct {
				FollowersCount int64 `json:"followers_count"`
			} `json:"public_metrics"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("malformed X users lookup: %w", err)
	}
	out := make(map[string]Profile, len(r.Data))
	for _, u := range r.Data {
		if u.ID != "" && u.PublicMetrics.FollowersCount >= 0 {
			out[u.ID] = Profile{Followers: u.PublicMetrics.FollowersCount, Verified: u.Verified}
		}
	}
	return out, nil
}

// Mastodon looks accounts up with GET /api/v1/accounts/:id.
type Mastodon struct {
	BaseURL string
	Token   string
	Client  *http.Client
	lim     limiter
}

// NewMastodon builds the Mastodon provider.
func NewMastodon(baseURL, token string, client *http.Client) *Mastodon {
	return &Mastodon{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, Client: client, lim: limiter{clock: clock.System{}}}
}

// MaxBatch is 1: the API takes one account a call.
func (*Mastodon) MaxBatch() int { return 1 }

// Lookup asks for each account in turn.
func (p *Mastodon) Lookup(ctx context.Context, ids []string) (map[string]Profile, error) {
	out := map[string]Profile{}
	for _, id := range ids {
		body, err := get(ctx, p.Client, p.BaseURL+"/api/v1/accounts/"+url.PathEscape(id), p.Token, &p.lim, "X-RateLimit-Remaining", "X-RateLimit-Reset", isoTime)
		if err != nil {
			return out, err
		}
		prof, err := DecodeMastodonAccount(body)
		if err != nil {
			return out, err
		}
		out[id] = prof
	}
	return out, nil
}

// DecodeMastodonAccount reads an Account entity.
func DecodeMastodonAccount(body []byte) (Profile, error) {
	var a struct {
		ID             string `json:"id"`
		FollowersCount int64  `json:"followers_count"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.ID == "" || a.FollowersCount < 0 {
		return Profile{}, fmt.Errorf("malformed Mastodon account (%v)", err)
	}
	return Profile{Followers: a.FollowersCount}, nil
}

// Bluesky looks profiles up with app.bsky.actor.getProfile.
type Bluesky struct {
	BaseURL string // https://public.api.bsky.app
	Client  *http.Client
	lim     limiter
}

// NewBluesky builds the Bluesky provider.
func NewBluesky(baseURL string, client *http.Client) *Bluesky {
	return &Bluesky{BaseURL: strings.TrimRight(baseURL, "/"), Client: client, lim: limiter{clock: clock.System{}}}
}

// MaxBatch is 1: getProfile takes one actor (getProfiles would take 25).
func (*Bluesky) MaxBatch() int { return 1 }

// Lookup asks for each actor in turn.
func (p *Bluesky) Lookup(ctx context.Context, ids []string) (map[string]Profile, error) {
	out := map[string]Profile{}
	for _, id := range ids {
		u := p.BaseURL + "/xrpc/app.bsky.actor.getProfile?" + url.Values{"actor": {id}}.Encode()
		body, err := get(ctx, p.Client, u, "", &p.lim, "ratelimit-remaining", "ratelimit-reset", epochSeconds)
		if err != nil {
			return out, err
		}
		prof, err := DecodeBlueskyProfile(body)
		if err != nil {
			return out, err
		}
		out[id] = prof
	}
	return out, nil
}

// DecodeBlueskyProfile reads a profileViewDetailed.
func DecodeBlueskyProfile(body []byte) (Profile, error) {
	var v struct {
		DID            string `json:"did"`
		FollowersCount int64  `json:"followersCount"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.DID == "" || v.FollowersCount < 0 {
		return Profile{}, fmt.Errorf("malformed Bluesky profile (%v)", err)
	}
	return Profile{Followers: v.FollowersCount}, nil
}
