package ingest

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/ingest/mention"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// A post seen again with more reposts, likes, replies or quotes is an
// engagement update, not a duplicate: reach measures how fast the post
// spreads from it. Each post's latest counts live in an engagement hash
// (r, l, p, q, and t: when an update was last published), kept for
// --update-window after the post was first seen.

// claimUpdateScript claims an update when some counter grew and the post's
// last update is at least --update-every old. It raises every counter to
// the larger of old and new (a platform that reports a lower count a
// moment later does not undo growth) and returns the old fields (to
// release the claim if publishing fails) and the raised counters; {} when
// there is nothing to publish.
//
// KEYS: engagement hash. ARGV: reposts, likes, replies, quotes, now ms, every ms.
var claimUpdateScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'r', 'l', 'p', 'q', 't')
if not cur[1] then return {} end
local now, every = tonumber(ARGV[5]), tonumber(ARGV[6])
local grew, raised = false, {}
for i = 1, 4 do
  local old, new = tonumber(cur[i]), tonumber(ARGV[i])
  if new > old then grew = true end
  raised[i] = string.format('%d', math.max(old, new))
end
if not grew or now - tonumber(cur[5]) < every then return {} end
redis.call('HSET', KEYS[1], 'r', raised[1], 'l', raised[2], 'p', raised[3], 'q', raised[4], 't', ARGV[5])
return {cur[1], cur[2], cur[3], cur[4], cur[5], raised[1], raised[2], raised[3], raised[4]}
`)

// releaseUpdateScript puts the old fields back if the claim made at
// ARGV[6] is still the latest, so a publish that failed can be retried.
var releaseUpdateScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 't') ~= ARGV[6] then return 0 end
redis.call('HSET', KEYS[1], 'r', ARGV[1], 'l', ARGV[2], 'p', ARGV[3], 'q', ARGV[4], 't', ARGV[5])
return 1
`)

// update is a claimed engagement update of mention index.
type update struct {
	index int
	old   []any // r, l, p, q, t as stored before the claim
}

func (s *Service) engagementKey(id string) string { return s.d.Keys.Global("engagement", id) }

// claimUpdates claims the updates among duplicates (indexes into
// mentions) in one round trip, and rewrites each claimed mention's counters
// to the raised ones it will be published with.
func (s *Service) claimUpdates(ctx context.Context, mentions []*fbv1.Mention, dups []int) ([]update, error) {
	var idx []int
	now := s.clock.Now().UnixMilli()
	for _, i := range dups {
		if m := mentions[i]; m.Metrics != nil && !m.BrandReply {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.Cmd, len(idx))
	err := s.pipes.do(ctx, func(pipe redis.Pipeliner) {
		for n, i := range idx {
			m := mentions[i]
			cmds[n] = claimUpdateScript.Eval(ctx, pipe, []string{s.engagementKey(m.Id)},
				m.Metrics.Reposts, m.Metrics.Likes, m.Metrics.Replies, m.Metrics.Quotes, now, s.cfg.UpdateEvery.Milliseconds())
		}
	})
	if err != nil && err != redis.Nil {
		return nil, fmt.Errorf("check engagement updates in Redis: %w", err)
	}
	var out []update
	for n, cmd := range cmds {
		res, err := cmd.StringSlice()
		if err != nil || len(res) != 9 {
			continue // nothing grew, or too soon
		}
		counts := make([]int64, 4)
		for k := range counts {
			counts[k], _ = strconv.ParseInt(res[5+k], 10, 64)
		}
		mentions[idx[n]].Metrics = &fbv1.PublicMetrics{Reposts: counts[0], Likes: counts[1], Replies: counts[2], Quotes: counts[3]}
		out = append(out, update{index: idx[n], old: []any{res[0], res[1], res[2], res[3], res[4], now}})
	}
	return out, nil
}

// releaseUpdates undoes claims whose publish failed.
func (s *Service) releaseUpdates(ctx context.Context, mentions []*fbv1.Mention, updates []update) {
	if len(updates) == 0 {
		return
	}
	err := s.pipes.do(ctx, func(pipe redis.Pipeliner) {
		for _, u := range updates {
			releaseUpdateScript.Eval(ctx, pipe, []string{s.engagementKey(mentions[u.index].Id)}, u.old...)
		}
	})
	if err != nil {
		s.d.Tel.Logger.WarnContext(ctx, "could not release engagement updates that failed to publish; they are skipped", "err", err)
	}
}

// updateEvent is an engagement update on mentions.updated.<platform>. Its
// id carries the counters, so the same update published twice is one.
func (s *Service) updateEvent(m *fbv1.Mention) bus.Event {
	c := m.Metrics
	return bus.Event{
		Subject: s.inPartition(s.d.Names.Updated(mention.PlatformName(m.Platform)), m),
		MsgID:   bus.MsgID(m.Id, fmt.Sprintf("updated:%d.%d.%d.%d", c.Reposts, c.Likes, c.Replies, c.Quotes)),
		Type:    "mention.updated",
		Headers: map[string]string{bus.HeaderMentionID: m.Id},
		Message: m,
	}
}

// trackEngagement starts the engagement hash of freshly published mentions.
func (s *Service) trackEngagement(ctx context.Context, pipe redis.Pipeliner, m *fbv1.Mention) {
	if m.BrandReply {
		return
	}
	key := s.engagementKey(m.Id)
	c := m.Metrics
	pipe.HSet(ctx, key, "r", c.GetReposts(), "l", c.GetLikes(), "p", c.GetReplies(), "q", c.GetQuotes(), "t", 0)
	pipe.PExpire(ctx, key, s.cfg.UpdateWindow)
}
