package ingest

import (
	"context"
	"hash/fnv"
	"math"
	"time"

	"github.com/redis/go-redis/v9"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/ingest/mention"
	"github.com/firebreak/firebreak/services/platform/store"
)

// seenFalsePositive is the error rate each day's filter is sized for, at
// its expected count: a mention never ingested, posted before the exact
// window and checked against d days' filters, is taken for a duplicate
// (and not published) with probability about d × 1e-5: 3 in 10,000 for one
// 30 days old. A mention posted within the exact window never is.
const seenFalsePositive = 1e-5

// seen remembers which mentions were ingested, in bounded memory: exactly,
// one key per mention, for the exact window (long enough for platform
// retries and the engagement updates of a post); then, up to the keep
// (--seen-ttl), in one Bloom filter per day, sharded over 16 hash tags. A
// filter costs about 24 bits per mention of its day, set or not, where a key
// costs some 80 bytes: at 1,000 mentions/s, 30 days are 2.6 billion keys
// (about 200 GB) or 31 filters of 260 MB (8 GB).
//
// A filter holds more than it was sized for (--seen-per-day) at a higher
// error rate; only mentions posted before the exact window (backfills,
// replays) are checked against filters at all.
type seen struct {
	r          redis.UniversalClient
	keys       store.Keys
	exact      time.Duration
	keep       time.Duration
	bits       uint64 // per shard and day
	hashes     int
	futureSkew time.Duration
	// expiries spares the EXPIRE of a day's filter written by every
	// mention of the day.
	expiries store.Expiries
}

func newSeen(r redis.UniversalClient, keys store.Keys, perDay int64, exact, keep time.Duration) *seen {
	perShard := float64(max(perDay, 1)) / store.Shards
	bpe := -math.Log(seenFalsePositive) / (math.Ln2 * math.Ln2)
	return &seen{r: r, keys: keys, exact: min(exact, keep), keep: keep,
		bits: uint64(math.Ceil(perShard * bpe)), hashes: int(math.Round(bpe * math.Ln2)), futureSkew: mention.MaxFutureSkew}
}

func (s *seen) exactKey(id string) string { return s.keys.Global("seen", id) }

func (s *seen) dayKey(id string, day time.Time) string {
	return s.keys.Of(store.ShardTag("seen", store.ShardIndex(id)), "seen", store.Day(day))
}

// positions are the filter bits of id: double hashing over two FNV hashes.
func (s *seen) positions(id string) []int64 {
	h1, h2 := fnv.New64a(), fnv.New64()
	_, _ = h1.Write([]byte(id))
	_, _ = h2.Write([]byte(id))
	a, b := h1.Sum64(), h2.Sum64()|1
	out := make([]int64, s.hashes)
	for i := range out {
		out[i] = int64((a + uint64(i)*b) % s.bits)
	}
	return out
}

// filtered says whether a mention is old enough to be checked against the
// filters: posted before the exact window.
func (s *seen) filtered(m *fbv1.Mention, now time.Time) bool {
	return s.keep > s.exact && m.GetCreatedAt().AsTime().Before(now.Add(-s.exact))
}

// check queues in pipe what tells whether m was ingested before, and
// returns the function that reads the answer once pipe ran.
func (s *seen) check(ctx context.Context, pipe redis.Pipeliner, m *fbv1.Mention, now time.Time) func() bool {
	exists := pipe.Exists(ctx, s.exactKey(m.Id))
	var days []*redis.IntSliceCmd
	if s.filtered(m, now) {
		args := make([]any, 0, 3*s.hashes)
		for _, p := range s.positions(m.Id) {
			args = append(args, "GET", "u1", p)
		}
		// Every day it may have been ingested on: from the day it was
		// posted, within the keep.
		from := m.CreatedAt.AsTime()
		if oldest := now.Add(-s.keep); from.Before(oldest) {
			from = oldest
		}
		from = from.UTC().Truncate(24 * time.Hour)
		for day := from; !day.After(now); day = day.Add(24 * time.Hour) {
			days = append(days, pipe.BitField(ctx, s.dayKey(m.Id, day), args...))
		}
	}
	return func() bool {
		if exists.Val() > 0 {
			return true
		}
	next:
		for _, d := range days {
			bits := d.Val()
			if len(bits) == 0 {
				continue
			}
			for _, b := range bits {
				if b == 0 {
					continue next
				}
			}
			return true
		}
		return false
	}
}

// record queues in pipe that m was ingested now.
func (s *seen) record(ctx context.Context, pipe redis.Pipeliner, m *fbv1.Mention, now time.Time) {
	pipe.Set(ctx, s.exactKey(m.Id), 1, s.exact+s.futureSkew)
	if s.keep <= s.exact {
		return
	}
	key := s.dayKey(m.Id, now)
	args := make([]any, 0, 4*s.hashes)
	for _, p := range s.positions(m.Id) {
		args = append(args, "SET", "u1", p, 1)
	}
	pipe.BitField(ctx, key, args...)
	// The day's filter answers for the keep after its last mention: its
	// expiry, a day more than the keep, is refreshed every hour.
	if s.expiries.Due(key, now) {
		pipe.Expire(ctx, key, s.keep+24*time.Hour)
	}
}
