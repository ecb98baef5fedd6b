package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	platformstore "github.com/firebreak/firebreak/services/platform/store"
)

// ErrNoSilence is returned for a silence id that names none (or one gone
// past its retention).
var ErrNoSilence = errors.New("no such silence")

// ErrTooManySilences is returned when the active silences are at MaxSilences.
var ErrTooManySilences = errors.New("too many silences")

// MaxSilences bounds the silences kept at once: every decision is matched
// against all of them.
const MaxSilences = 1000

// auditCap bounds the audit log; entries outlive their silences.
const auditCap = 10000

// Silences keeps silences in Redis under one hash tag, so the index, the
// silences and their version change together in one script: each silence
// is a key that expires Keep after its end, the index orders them by end,
// the version changes with every add and expiry (so replicas know when to
// read them again), and the audit log keeps who did what.
type Silences struct {
	r    redis.UniversalClient
	keys platformstore.Keys
	// Keep is how long an ended silence is still listed before it goes.
	Keep time.Duration
}

// NewSilences returns the silences store.
func NewSilences(r redis.UniversalClient, keys platformstore.Keys, keep time.Duration) *Silences {
	return &Silences{r: r, keys: keys, Keep: keep}
}

const silencesTag = "silences"

func (s *Silences) key(parts ...string) string { return s.keys.Of(silencesTag, parts...) }

// VersionKey is read in the same round trip as every join, so a decision
// knows whether its replica's silences are current.
func (s *Silences) VersionKey() string { return s.key("version") }

// putScript stores a silence (new or changed), indexes it by end, bumps
// the version and appends the audit entry, all or nothing. A new silence
// is refused when the index holds MaxSilences not yet ended.
//
// KEYS: silence key, index, version, audit
// ARGV: silence bytes, end ms, keep ms, now ms, id, audit bytes, audit cap,
// max silences, "new" or "change"
var putScript = redis.NewScript(`
local key, index, version, audit = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local data, ends, keep, now, id = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. (now - keep))
if ARGV[9] == 'new' then
  if redis.call('ZCOUNT', index, now, '+inf') >= tonumber(ARGV[8]) then return 'full' end
elseif redis.call('EXISTS', key) == 0 then
  return 'gone'
end
redis.call('SET', key, data, 'PXAT', ends + keep)
redis.call('ZADD', index, ends, id)
redis.call('INCR', version)
redis.call('LPUSH', audit, ARGV[6])
redis.call('LTRIM', audit, 0, tonumber(ARGV[7]) - 1)
return 'ok'
`)

// Add stores a new silence and its audit entry.
func (s *Silences) Add(ctx context.Context, sil *fbv1.Silence, now time.Time) error {
	return s.put(ctx, sil, "new", &fbv1.SilenceAudit{Action: "added", Actor: sil.CreatedBy, At: timestamppb.New(now), Silence: sil}, now)
}

func (s *Silences) put(ctx context.Context, sil *fbv1.Silence, mode string, a *fbv1.SilenceAudit, now time.Time) error {
	data, err := proto.Marshal(sil)
	if err != nil {
		return fmt.Errorf("encode silence %s: %w", sil.Id, err)
	}
	entry, err := proto.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode audit of silence %s: %w", sil.Id, err)
	}
	res, err := putScript.Run(ctx, s.r, []string{s.key("silence", sil.Id), s.key("index"), s.VersionKey(), s.key("audit")},
		data, sil.EndsAt.AsTime().UnixMilli(), s.Keep.Milliseconds(), now.UnixMilli(), sil.Id, entry, auditCap, MaxSilences, mode).Text()
	if err != nil {
		return fmt.Errorf("store silence %s: %w", sil.Id, err)
	}
	switch res {
	case "full":
		return fmt.Errorf("%w: %d are active or pending; expire some first (firebreak silences list)", ErrTooManySilences, MaxSilences)
	case "gone":
		return fmt.Errorf("%w: %s", ErrNoSilence, sil.Id)
	}
	return nil
}

// Get reads one silence.
func (s *Silences) Get(ctx context.Context, id string) (*fbv1.Silence, error) {
	raw, err := s.r.Get(ctx, s.key("silence", id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: %s (list them with firebreak silences list --expired)", ErrNoSilence, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read silence %s: %w", id, err)
	}
	sil := &fbv1.Silence{}
	if err := proto.Unmarshal(raw, sil); err != nil {
		return nil, fmt.Errorf("decode silence %s: %w", id, err)
	}
	return sil, nil
}

// Expire ends a silence at now, in actor's name. A silence that has not
// started ends before it begins; one already ended is left as it is.
func (s *Silences) Expire(ctx context.Context, id, actor string, now time.Time) (*fbv1.Silence, error) {
	sil, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !now.Before(sil.EndsAt.AsTime()) {
		return sil, nil
	}
	sil.EndsAt, sil.ExpiredBy, sil.ExpiredAt = timestamppb.New(now), actor, timestamppb.New(now)
	if now.Before(sil.StartsAt.AsTime()) {
		sil.StartsAt = sil.EndsAt
	}
	return sil, s.put(ctx, sil, "change", &fbv1.SilenceAudit{Action: "expired", Actor: actor, At: timestamppb.New(now), Silence: sil}, now)
}

// All returns every silence still kept (active, pending, and ended within
// Keep), soonest end first, and the version they were read at.
func (s *Silences) All(ctx context.Context, now time.Time) ([]*fbv1.Silence, string, error) {
	pipe := s.r.Pipeline()
	ver := pipe.Get(ctx, s.VersionKey())
	ids := pipe.ZRangeByScore(ctx, s.key("index"), &redis.ZRangeBy{Min: strconv.FormatInt(now.Add(-s.Keep).UnixMilli(), 10), Max: "+inf"})
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", fmt.Errorf("read silences: %w", err)
	}
	if len(ids.Val()) == 0 {
		return nil, ver.Val(), nil
	}
	keys := make([]string, len(ids.Val()))
	for i, id := range ids.Val() {
		keys[i] = s.key("silence", id)
	}
	raw, err := s.r.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, "", fmt.Errorf("read silences: %w", err)
	}
	out := make([]*fbv1.Silence, 0, len(raw))
	for i, r := range raw {
		str, ok := r.(string)
		if !ok {
			continue // expired between the two reads
		}
		sil := &fbv1.Silence{}
		if err := proto.Unmarshal([]byte(str), sil); err != nil {
			return nil, "", fmt.Errorf("decode silence %s: %w", ids.Val()[i], err)
		}
		out = append(out, sil)
	}
	return out, ver.Val(), nil
}

// Version is the silences' current version ("" before the first silence).
func (s *Silences) Version(ctx context.Context) (string, error) {
	v, err := s.r.Get(ctx, s.VersionKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("read silences version: %w", err)
	}
	return v, nil
}

// Audit returns the latest n audit entries, newest first.
func (s *Silences) Audit(ctx context.Context, n int) ([]*fbv1.SilenceAudit, error) {
	raw, err := s.r.LRange(ctx, s.key("audit"), 0, int64(n)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("read silences audit: %w", err)
	}
	out := make([]*fbv1.SilenceAudit, 0, len(raw))
	for _, r := range raw {
		a := &fbv1.SilenceAudit{}
		if err := proto.Unmarshal([]byte(r), a); err != nil {
			return nil, fmt.Errorf("decode silences audit: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}
