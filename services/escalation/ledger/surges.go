package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/surge"
	"github.com/firebreak/firebreak/services/platform/store"
)

// A brand's surge keys share one hash tag, so each script runs on one
// Cluster node: the state (a hash: the JSON surge.State and its version),
// per scope the authors' latest complaint times (a sorted set), and for the
// brand and its topics the start of the window being counted and the
// counts of finished windows not yet learned from (a list). Every key of a
// scope expires when the scope is idle. The counting is one
// script, so replicas never lose a count; the state changes by version
// (compare and set), so a transition (an incident opening) happens once.

// observeScript counts an author's complaint in each scope (or, with no
// author, only looks) and returns the state, its version, and per scope the
// distinct authors in the window ending at the event and the finished
// windows' counts.
//
// KEYS: state hash (the scopes' keys are named from the prefix, under the
// same tag)
// ARGV: key prefix, event ms, window ms, author (” to look), persist ms,
// scopes...
// Answer: {state, version, then per scope count, closed, latest, past,
// recent} where a closed list is "start:count,start:count", latest is the
// newest complaint's ms, past the count of the window ending persist ago
// and recent the authors of the last half of persist (surge.Observation).
var observeScript = redis.NewScript(`
local state = KEYS[1]
local prefix, at, span, author, persist = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local bucket = at - at % span
local st = redis.call('HMGET', state, 'state', 'ver')
local out = {st[1] or '', st[2] or '0'}
-- A post's pile-on has no usual to learn: only the brand and its topics
-- keep their finished windows, and their window starts are read in one
-- MGET (kept up to date here as they are written).
local function isPost(scope) return string.sub(scope, 1, 5) == 'post:' end
local names, starts = {}, {}
for i = 6, #ARGV do
  if not isPost(ARGV[i]) then table.insert(names, prefix .. 'start:' .. ARGV[i]) end
end
if #names > 0 then
  local got = redis.call('MGET', unpack(names))
  for k, name in ipairs(names) do starts[name] = tonumber(got[k] or '-1') end
end
for i = 6, #ARGV do
  local scope = ARGV[i]
  local authors, closed, start = prefix .. 'authors:' .. scope, prefix .. 'closed:' .. scope, prefix .. 'start:' .. scope
  local post = isPost(scope)
  if not post then
    local cur = starts[start]
    if cur < 0 then
      redis.call('SET', start, bucket, 'PX', 200 * span)
      starts[start] = bucket
    elseif cur < bucket then
      -- The window being counted finished: its count, before anything
      -- newer is added, waits in the list until the state learns it.
      local n = redis.call('ZCOUNT', authors, cur, '(' .. (cur + span))
      redis.call('RPUSH', closed, cur .. ':' .. n)
      redis.call('LTRIM', closed, -200, -1)
      redis.call('PEXPIRE', closed, 200 * span)
      redis.call('SET', start, bucket, 'PX', 200 * span)
      starts[start] = bucket
    end
  end
  redis.call('ZREMRANGEBYSCORE', authors, '-inf', '(' .. (at - 2 * span))
  if author ~= '' then
    redis.call('ZADD', authors, 'GT', at, author)
    redis.call('PEXPIRE', authors, 2 * span)
  end
  local count = redis.call('ZCOUNT', authors, '(' .. (at - span), at)
  out[#out + 1] = tostring(count)
  -- A post has no finished windows to read (Step learns none of a post's).
  if post then
    out[#out + 1] = ''
  else
    out[#out + 1] = table.concat(redis.call('LRANGE', closed, 0, -1), ',')
  end
  local latest = redis.call('ZRANGE', authors, -1, -1, 'WITHSCORES')
  out[#out + 1] = latest[2] or '0'
  if persist == 0 then
    -- The past window is the current one, and the last half of no time
    -- holds nobody.
    out[#out + 1] = tostring(count)
    out[#out + 1] = '0'
  else
    out[#out + 1] = tostring(redis.call('ZCOUNT', authors, '(' .. (at - persist - span), at - persist))
    out[#out + 1] = tostring(redis.call('ZCOUNT', authors, '(' .. (at - math.floor(persist / 2)), at))
  end
end
return out
`)

// casScript stores a new state if the version is the one read, and drops
// the finished windows it learned from.
//
// KEYS: state hash
// ARGV: expected version, state, key prefix, then pairs of scope and the
// number of finished windows learned
var casScript = redis.NewScript(`
if (redis.call('HGET', KEYS[1], 'ver') or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'ver', tonumber(ARGV[1]) + 1)
for i = 4, #ARGV, 2 do
  redis.call('LTRIM', ARGV[3] .. 'closed:' .. ARGV[i], tonumber(ARGV[i + 1]), -1)
end
return 1
`)

// Surges is the surge state of every brand.
type Surges struct {
	r       redis.UniversalClient
	keys    store.Keys
	decoded *decodedStates
}

// NewSurges returns the surge state over r.
func NewSurges(r redis.UniversalClient, keys store.Keys) *Surges {
	return &Surges{r: r, keys: keys, decoded: &decodedStates{byBrand: map[string]decodedState{}}}
}

// maxDecodedBrands bounds the decoded states kept: past it the cache
// starts over, so a flood of brands costs decoding, not memory.
const maxDecodedBrands = 1024

// decodedStates keeps each brand's surge state as last decoded. A brand's
// state changes only when a window closes or an incident opens or
// resolves, while every complaint reads it: decoding its JSON each time
// was a tenth of escalation's CPU. A decoded state is shared, which is safe
// because nothing changes a State in place (Step and Close clone it).
type decodedStates struct {
	mu      sync.Mutex
	byBrand map[string]decodedState
}

type decodedState struct {
	raw   string
	state surge.State
}

// decode returns the state raw encodes for brand.
func (d *decodedStates) decode(brand, raw string) (surge.State, error) {
	d.mu.Lock()
	got, ok := d.byBrand[brand]
	d.mu.Unlock()
	if ok && got.raw == raw {
		return got.state, nil
	}
	var st surge.State
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return surge.State{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.byBrand) >= maxDecodedBrands {
		clear(d.byBrand)
	}
	d.byBrand[brand] = decodedState{raw: raw, state: st}
	return st, nil
}

func (s *Surges) brandKey(brand string, parts ...string) string {
	return s.keys.Of(store.Tag("surge/"+brand), append([]string{"surge"}, parts...)...)
}

// Observed is a brand's state read with the counts of an observation.
type Observed struct {
	State   surge.State
	Obs     surge.Observation
	version string
	learned map[surge.Scope]int
}

// Observe counts author's complaint at at in scopes (author "" only looks)
// and returns the state and the observation to Step it with.
func (s *Surges) Observe(ctx context.Context, brand, author string, at time.Time, scopes []surge.Scope, cfg surge.Config) (Observed, error) {
	keys, args := s.observeCall(brand, author, at, scopes, cfg)
	res, err := observeScript.Run(ctx, s.r, keys, args...).StringSlice()
	return s.parseObserved(res, err, brand, author, at, scopes)
}

// ObserveIn is Observe in another store's pipeline (a join's), so the
// count costs no round trip of its own. read, after the pipeline ran,
// returns what Observe would; an error there (the script cache was lost)
// is the caller's cue to Observe on its own.
func (s *Surges) ObserveIn(ctx context.Context, pipe redis.Pipeliner, brand, author string, at time.Time, scopes []surge.Scope, cfg surge.Config) (cmd redis.Cmder, read func() (Observed, error)) {
	keys, args := s.observeCall(brand, author, at, scopes, cfg)
	c := observeScript.EvalSha(ctx, pipe, keys, args...)
	return c, func() (Observed, error) {
		res, err := c.StringSlice()
		return s.parseObserved(res, err, brand, author, at, scopes)
	}
}

func (s *Surges) observeCall(brand, author string, at time.Time, scopes []surge.Scope, cfg surge.Config) ([]string, []any) {
	args := make([]any, 0, 5+len(scopes))
	args = append(args, s.brandKey(brand)+":", at.UnixMilli(), cfg.Window.Milliseconds(), author, cfg.Persist.Milliseconds())
	for _, sc := range scopes {
		args = append(args, sc)
	}
	return []string{s.brandKey(brand, "state")}, args
}

func (s *Surges) parseObserved(res []string, err error, brand, author string, at time.Time, scopes []surge.Scope) (Observed, error) {
	if err == nil && len(res) != 2+5*len(scopes) {
		err = fmt.Errorf("%d values for %d scopes", len(res), len(scopes))
	}
	if err != nil {
		return Observed{}, fmt.Errorf("count complaint of brand %s for surges: %w", brand, err)
	}
	out := Observed{version: res[1], learned: map[surge.Scope]int{},
		Obs: surge.Observation{At: at, Counts: map[surge.Scope]int{}, Closed: map[surge.Scope][]surge.Closed{},
			Latest: map[surge.Scope]int64{}, Past: map[surge.Scope]int{}, Recent: map[surge.Scope]int{}, Complaint: author != ""}}
	if res[0] != "" {
		if out.State, err = s.decoded.decode(brand, res[0]); err != nil {
			return Observed{}, fmt.Errorf("decode surge state of brand %s: %w", brand, err)
		}
	}
	for i, sc := range scopes {
		count, closed, latest := res[2+5*i], res[3+5*i], res[4+5*i]
		out.Obs.Counts[sc], _ = strconv.Atoi(count)
		out.Obs.Past[sc], _ = strconv.Atoi(res[5+5*i])
		out.Obs.Recent[sc], _ = strconv.Atoi(res[6+5*i])
		if ms, err := strconv.ParseFloat(latest, 64); err == nil && ms > 0 {
			out.Obs.Latest[sc] = int64(ms)
		}
		if closed == "" {
			continue
		}
		entries := strings.Split(closed, ",")
		for _, e := range entries {
			start, count, _ := strings.Cut(e, ":")
			st, err1 := strconv.ParseInt(start, 10, 64)
			c, err2 := strconv.Atoi(count)
			if err1 == nil && err2 == nil {
				out.Obs.Closed[sc] = append(out.Obs.Closed[sc], surge.Closed{Start: st, Count: c})
			}
		}
		out.learned[sc] = len(entries)
	}
	return out, nil
}

// Store saves the state Step made from o, unless it changed since o was
// read (ErrConflict: observe again and step again).
func (s *Surges) Store(ctx context.Context, brand string, o Observed, next surge.State) error {
	b, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("encode surge state: %w", err)
	}
	args := []any{o.version, b, s.brandKey(brand) + ":"}
	for sc, n := range o.learned {
		args = append(args, sc, n)
	}
	ok, err := casScript.Run(ctx, s.r, []string{s.brandKey(brand, "state")}, args...).Int()
	if err != nil {
		return fmt.Errorf("store surge state of brand %s: %w", brand, err)
	}
	if ok == 0 {
		return fmt.Errorf("store surge state of brand %s: %w", brand, ErrConflict)
	}
	return nil
}

// Changed reports whether the state must be stored: Step changed it, or
// there are finished windows to drop.
func (o Observed) Changed(next surge.State) bool {
	return len(o.learned) > 0 || !o.State.Equal(next)
}

// Open lists brands with an open incident: a set read by the timers, so
// incidents resolve when complaints stop coming.
func (s *Surges) openKey() string { return s.keys.Global("surge", "open") }

// MarkOpen and MarkClosed keep the set of brands with open incidents.
func (s *Surges) MarkOpen(ctx context.Context, brand string) error {
	return s.r.SAdd(ctx, s.openKey(), brand).Err()
}

// MarkClosed removes a brand from the set of brands with open incidents.
func (s *Surges) MarkClosed(ctx context.Context, brand string) error {
	return s.r.SRem(ctx, s.openKey(), brand).Err()
}

// OpenBrands lists the brands with an open incident.
func (s *Surges) OpenBrands(ctx context.Context) ([]string, error) {
	out, err := s.r.SMembers(ctx, s.openKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list brands with open incidents: %w", err)
	}
	return out, nil
}

// IncidentTag is the tag of a brand group's incident cases: incidents are
// cases, numbered per group like an author's.
func IncidentTag(brand, group string) string { return store.Tag(brand + "/incident/" + group) }

// createScript stores a new incident case numbered n unless the group has
// case n already, and puts its event in the outbox. It answers the case's
// new version, or 0 when it was there.
//
// KEYS: case pointer, outbox
// ARGV: case number, case bytes, event bytes, key prefix, timeline cap, event
// id, timeline entry
var createScript = redis.NewScript(`
if tonumber(redis.call('HGET', KEYS[1], 'n') or '0') >= tonumber(ARGV[1]) then return 0 end
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
redis.call('HSET', KEYS[1], 'n', ARGV[1], 'ver', ver + 1)
redis.call('SET', ARGV[4] .. 'cases:' .. ARGV[1], ARGV[2])
redis.call('RPUSH', ARGV[4] .. 'timeline:' .. ARGV[1], ARGV[7])
redis.call('HSET', KEYS[2], ARGV[6], ARGV[3])
return ver + 1
`)

// CreateIncident stores a new incident case with its opening event,
// indexed and scheduled at due; created is false when it was stored before
// (by another replica, or before a crash).
func (s *Store) CreateIncident(ctx context.Context, c *fbv1.Case, e *fbv1.CaseEvent, due time.Time) (created bool, err error) {
	tag, n, err := cases.ParseID(c.Id)
	if err != nil {
		return false, err
	}
	a := Author{Tag: tag, s: s}
	cb, err := proto.Marshal(c)
	if err != nil {
		return false, fmt.Errorf("encode incident %s: %w", c.Id, err)
	}
	StampTrace(ctx, e)
	eb, err := proto.Marshal(e)
	if err != nil {
		return false, fmt.Errorf("encode event %s: %w", e.Id, err)
	}
	entry, err := timelineEntry(e)
	if err != nil {
		return false, err
	}
	var ver int64
	err = runPipelined(ctx, s.r, createScript, []string{a.key("case"), a.key("outbox")},
		[]any{n, cb, eb, a.prefix(), timelineCap, e.Id, entry},
		func(cmd *redis.Cmd) error {
			var err error
			ver, err = cmd.Int64()
			return err
		},
		func(pipe redis.Pipeliner) []redis.Cmder {
			s.indexCase(ctx, pipe, c)
			s.scheduleEarlier(ctx, pipe, c.Id, due)
			return nil
		})
	if err != nil {
		return false, fmt.Errorf("create incident %s: %w", c.Id, err)
	}
	if ver == 0 {
		return false, nil
	}
	// As Save: a failed reindex leaves only entries List drops.
	_ = s.reindex(ctx, c, ver)
	return true, nil
}

// memberScript records a complaint that joined an incident: its author
// (counted once, with their followers), its case and its mention.
//
// KEYS: stats hash, authors set, members sorted set
// ARGV: author key, followers, case id (” for none), mention id, mention ms, ttl ms
var memberScript = redis.NewScript(`
local stats, authors, members = KEYS[1], KEYS[2], KEYS[3]
local at = tonumber(ARGV[5])
if redis.call('SADD', authors, ARGV[1]) == 1 then
  redis.call('HINCRBY', stats, 'authors', 1)
  redis.call('HINCRBY', stats, 'reach', ARGV[2])
end
if ARGV[3] ~= '' then redis.call('ZADD', members, 'NX', at, ARGV[3]) end
local first = tonumber(redis.call('HGET', stats, 'first_at') or '-1')
if first < 0 or at < first then redis.call('HSET', stats, 'first', ARGV[4], 'first_at', at) end
if at >= tonumber(redis.call('HGET', stats, 'latest_at') or '-1') then redis.call('HSET', stats, 'latest', ARGV[4], 'latest_at', at) end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
return 1
`)

// incidentKeys are an incident's stats keys, beside its case.
func (s *Store) incidentKeys(id string) ([]string, error) {
	tag, n, err := cases.ParseID(id)
	if err != nil {
		return nil, err
	}
	a := Author{Tag: tag, s: s}
	num := strconv.FormatInt(n, 10)
	return []string{a.key("incident", num, "stats"), a.key("incident", num, "authors"), a.key("incident", num, "members")}, nil
}

// incidentKeep is how long an incident's members are kept.
const incidentKeep = 30 * 24 * time.Hour

// JoinIncident records a complaint in incident id; a redelivery changes
// nothing.
func (s *Store) JoinIncident(ctx context.Context, id, authorKey string, followers int64, caseID string, m *fbv1.Mention) error {
	keys, err := s.incidentKeys(id)
	if err != nil {
		return err
	}
	err = memberScript.Run(ctx, s.r, keys, authorKey, followers, caseID, m.GetId(), m.GetCreatedAt().AsTime().UnixMilli(), incidentKeep.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("record mention %s in incident %s: %w", m.GetId(), id, err)
	}
	return nil
}

// maxMembers bounds the member case ids an incident case lists.
const maxMembers = 500

// FillIncident sets an incident case's members and counts from what
// joined it.
func (s *Store) FillIncident(ctx context.Context, c *fbv1.Case) error {
	if c.GetKind() != fbv1.CaseKind_CASE_KIND_INCIDENT || c.Incident == nil {
		return nil
	}
	keys, err := s.incidentKeys(c.Id)
	if err != nil {
		return err
	}
	pipe := s.r.Pipeline()
	stats := pipe.HGetAll(ctx, keys[0])
	members := pipe.ZRange(ctx, keys[2], 0, maxMembers-1)
	total := pipe.ZCard(ctx, keys[2])
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read incident %s: %w", c.Id, err)
	}
	st := stats.Val()
	inc := c.Incident
	inc.MemberCaseIds, inc.MembersTotal = members.Val(), total.Val()
	inc.Authors, _ = strconv.ParseInt(st["authors"], 10, 64)
	inc.Reach, _ = strconv.ParseInt(st["reach"], 10, 64)
	if st["first"] != "" {
		inc.FirstMentionId = st["first"]
		inc.FirstMentionAt = timestampMillis(atoi64(st["first_at"]))
	}
	if st["latest"] != "" {
		inc.LatestMentionId = st["latest"]
		inc.LatestMentionAt = timestampMillis(atoi64(st["latest_at"]))
	}
	return nil
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
