package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/platform/store"
)

// The case index has secondary indexes, one sorted set per filterable
// field and value ("<prefix>{cases.07}:cases:by:team:senior"), sharded like
// the index itself: a case's entries live in its own shard of each, with
// the same (updated ms, id) score, so List pages through any of them in
// the same order with the same cursors. Each shard also keeps the values a
// case was last indexed under ("...:cases:fields", case id to JSON), so a
// case whose team changes leaves its old team's index.
//
// The shards live in other hash slots than the author's keys, so on Redis
// Cluster they cannot change in the save's own script. A save therefore
// adds the case to its new values' indexes in the save's pipeline (so the
// case is never missing from an index it belongs in), and reindexScript,
// in the same pipeline, moves it out of the old values' indexes, guarded by
// the version the save writes so a late reindex never undoes a newer one:
// no round trip of its own. The reindex runs whether or not the save
// succeeds; a save that was refused (a conflict, a command applied before)
// may thus have recorded values the case does not have at that version,
// so it reads the case back and records what is stored (repairIndex). An
// entry left behind (a crash between the two, a save refused) is only a
// candidate List reads and drops; IndexCaseFields repairs such cases at
// start-up.

// caseField is one field List can filter on through an index.
type caseField struct {
	name   string
	ofCase func(*fbv1.Case) string
	ofList func(Filter) string
}

// enumValue is an enum's index value; the unspecified zero is not indexed
// (a filter of zero matches everything).
func enumValue(n int32) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(int(n))
}

var caseFields = []caseField{
	{"state", func(c *fbv1.Case) string { return enumValue(int32(c.State)) }, func(f Filter) string { return enumValue(int32(f.State)) }},
	{"team", func(c *fbv1.Case) string { return c.Team }, func(f Filter) string { return f.Team }},
	{"brand", func(c *fbv1.Case) string { return c.Brand }, func(f Filter) string { return f.Brand }},
	{"priority", func(c *fbv1.Case) string { return enumValue(int32(c.Priority)) }, func(f Filter) string { return enumValue(int32(f.Priority)) }},
	{"assignee", func(c *fbv1.Case) string { return c.Assignee }, func(f Filter) string { return f.Assignee }},
	{"kind", func(c *fbv1.Case) string { return enumValue(int32(c.Kind)) }, func(f Filter) string { return enumValue(int32(f.Kind)) }},
}

// shardTag is the hash tag of the index shard that holds case id.
func shardTag(id string) string { return store.ShardTag("cases", store.ShardIndex(id)) }

// fieldIndexKey names shard tag's index of cases whose field has value.
func (s *Store) fieldIndexKey(tag, field, value string) string {
	return s.keys.Of(tag, "cases", "by", field, value)
}

// fieldIndexKeys are every shard of the index of field's value.
func (s *Store) fieldIndexKeys(field, value string) []string {
	out := make([]string, store.Shards)
	for i := range out {
		out[i] = s.fieldIndexKey(store.ShardTag("cases", i), field, value)
	}
	return out
}

func (s *Store) fieldsKey(tag string) string { return s.keys.Of(tag, "cases", "fields") }

// indexCase adds c, as of its last update, to the case index and to the
// indexes of its values, in the save's pipeline.
func (s *Store) indexCase(ctx context.Context, pipe redis.Pipeliner, c *fbv1.Case) {
	tag, z := shardTag(c.Id), redis.Z{Score: float64(c.UpdatedAt.AsTime().UnixMilli()), Member: c.Id}
	pipe.ZAdd(ctx, s.casesKey(c.Id), z)
	for _, f := range caseFields {
		if v := f.ofCase(c); v != "" {
			pipe.ZAdd(ctx, s.fieldIndexKey(tag, f.name, v), z)
		}
	}
}

// reindex records c's values as of version ver, leaving the indexes of
// values it no longer has. It does nothing when the same or a newer
// version is recorded already.
func (s *Store) reindex(ctx context.Context, c *fbv1.Case, ver int64) error {
	return s.runReindex(ctx, c, ver, "")
}

// repairIndex records the values of case id as stored now, even over a
// record of the same version: a refused save's reindex may have recorded
// its own values under the version another save wrote.
func (s *Store) repairIndex(ctx context.Context, id string) error {
	l, err := s.Case(ctx, id)
	if errors.Is(err, cases.ErrNotFound) || errors.Is(err, cases.ErrBadID) {
		return nil // an entry naming no case is dropped by List and trimmed
	}
	if err != nil {
		return err
	}
	ver, _ := strconv.ParseInt(l.version, 10, 64)
	return s.runReindex(ctx, l.Case, ver, "repair")
}

func (s *Store) runReindex(ctx context.Context, c *fbv1.Case, ver int64, mode string) error {
	keys, args := s.reindexCall(c, ver, mode)
	if err := reindexScript.Run(ctx, s.r, keys, args...).Err(); err != nil {
		return fmt.Errorf("index case %s: %w", c.Id, err)
	}
	return nil
}

// reindexIn adds c's reindex as of version ver to a save's pipeline.
func (s *Store) reindexIn(ctx context.Context, pipe redis.Pipeliner, c *fbv1.Case, ver int64) *redis.Cmd {
	keys, args := s.reindexCall(c, ver, "")
	return reindexScript.EvalSha(ctx, pipe, keys, args...)
}

// afterReindex makes up for a pipelined reindex (cmd) once the save's
// answer is known: a save that stood but whose reindex failed (the script
// cache was lost) reindexes on its own; a refused save records what is
// stored. The save stands either way: a failure here leaves only entries
// List drops, repaired at the next start (IndexCaseFields).
func (s *Store) afterReindex(ctx context.Context, saved bool, cmd *redis.Cmd, c *fbv1.Case, ver int64) {
	switch {
	case !saved:
		_ = s.repairIndex(ctx, c.Id)
	case cmd == nil || cmd.Err() != nil:
		_ = s.reindex(ctx, c, ver)
	}
}

// caseFieldNames are caseFields' names as script arguments: boxed once,
// not at every commit that changes a case.
var caseFieldNames = func() []any {
	out := make([]any, len(caseFields))
	for i, f := range caseFields {
		out[i] = f.name
	}
	return out
}()

func (s *Store) reindexCall(c *fbv1.Case, ver int64, mode string) (keys []string, args []any) {
	tag := shardTag(c.Id)
	args = make([]any, 0, 5+2*len(caseFields))
	args = append(args, s.fieldIndexKey(tag, "", "") /* "...:cases:by::" */, c.Id, ver, c.UpdatedAt.AsTime().UnixMilli(), mode)
	for i, f := range caseFields {
		args = append(args, caseFieldNames[i], f.ofCase(c))
	}
	return []string{s.fieldsKey(tag)}, args
}

// reindexScript records a case's indexed values in its shard and moves it
// between the shard's field indexes; every key is in the shard's slot.
//
// KEYS: the shard's fields hash
// ARGV: index key base ("...:cases:by::", a field's key is base with the
// field name and value in place of the two empty parts), case id, version,
// updated ms, mode ("repair" also replaces a record of the same version),
// then field name and value pairs (an empty value for none)
var reindexScript = redis.NewScript(`
local fields = KEYS[1]
local base, id, ver, ms, mode = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local prefix = string.sub(base, 1, #base - 1)
local old = redis.call('HGET', fields, id)
local prev = {}
if old then
  prev = cjson.decode(old)
  local was = tonumber(prev.ver or -1)
  if was > ver or (was == ver and mode ~= 'repair') then return 0 end
end
local now = {ver = ver, ms = tonumber(ms)}
for i = 6, #ARGV, 2 do
  local name, value = ARGV[i], ARGV[i + 1]
  local was = prev[name]
  if was and was ~= '' and was ~= value then redis.call('ZREM', prefix .. name .. ':' .. was, id) end
  if value ~= '' then redis.call('ZADD', prefix .. name .. ':' .. value, ms, id) end
  now[name] = value
end
redis.call('HSET', fields, id, cjson.encode(now))
return 1
`)

// listKeys picks the index List reads for f: of the indexes of f's fields,
// the one holding the fewest cases (a ZCARD per shard, in one round trip);
// the whole case index when f filters nothing.
func (s *Store) listKeys(ctx context.Context, f Filter) ([]string, error) {
	var candidates [][]string
	for _, field := range caseFields {
		if v := field.ofList(f); v != "" {
			candidates = append(candidates, s.fieldIndexKeys(field.name, v))
		}
	}
	switch len(candidates) {
	case 0:
		return s.keys.Sharded("cases"), nil
	case 1:
		return candidates[0], nil
	}
	pipe := s.r.Pipeline()
	counts := make([][]*redis.IntCmd, len(candidates))
	for i, keys := range candidates {
		for _, k := range keys {
			counts[i] = append(counts[i], pipe.ZCard(ctx, k))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("size the case indexes: %w", err)
	}
	best, bestN := 0, int64(-1)
	for i, cmds := range counts {
		var n int64
		for _, c := range cmds {
			n += c.Val()
		}
		if bestN < 0 || n < bestN {
			best, bestN = i, n
		}
	}
	return candidates[best], nil
}

// IndexCaseFields indexes the fields of every case whose field indexes are
// missing or older than its place in the case index: every case of a
// release from before the field indexes, a case saved by such a release
// during a rolling upgrade, and a case whose save was not followed by its
// reindex. It reads only those cases, so a start-up after the first costs a
// pass over the index, not over the cases. Safe on several replicas at
// once: a reindex never replaces a newer one.
func (s *Store) IndexCaseFields(ctx context.Context) (indexed int, err error) {
	const batch = 500
	for i, key := range s.keys.Sharded("cases") {
		fields := s.fieldsKey(store.ShardTag("cases", i))
		for start := int64(0); ; start += batch {
			zs, err := s.r.ZRangeWithScores(ctx, key, start, start+batch-1).Result()
			if err != nil {
				return indexed, fmt.Errorf("read case index %s: %w", key, err)
			}
			if len(zs) == 0 {
				break
			}
			ids := make([]string, len(zs))
			for j, z := range zs {
				ids[j] = fmt.Sprint(z.Member)
			}
			recorded, err := s.r.HMGet(ctx, fields, ids...).Result()
			if err != nil {
				return indexed, fmt.Errorf("read indexed fields %s: %w", fields, err)
			}
			for j, z := range zs {
				if !staleFields(recorded[j], int64(z.Score)) {
					continue
				}
				l, err := s.Case(ctx, ids[j])
				if errors.Is(err, cases.ErrNotFound) || errors.Is(err, cases.ErrBadID) {
					continue
				}
				if err != nil {
					return indexed, err
				}
				ver, _ := strconv.ParseInt(l.version, 10, 64)
				if err := s.runReindex(ctx, l.Case, ver, "repair"); err != nil {
					return indexed, err
				}
				indexed++
			}
			if len(zs) < batch {
				break
			}
		}
	}
	return indexed, nil
}

// staleFields says whether a case's recorded index values (nil: none) are
// older than its update at ms.
func staleFields(recorded any, ms int64) bool {
	raw, ok := recorded.(string)
	if !ok {
		return true
	}
	var at struct {
		MS int64 `json:"ms"`
	}
	if err := json.Unmarshal([]byte(raw), &at); err != nil {
		return true
	}
	return at.MS < ms
}

// trimIndexScript drops a case whose keys expired from its shard's case
// index and field indexes, and its recorded fields; a case that exists
// again (it was reopened meanwhile) is left alone. KEYS: the shard's case
// index, fields hash. ARGV: index key base (as reindexScript's), case id,
// the case's key.
var trimIndexScript = redis.NewScript(`
local index, fields = KEYS[1], KEYS[2]
local base, id = ARGV[1], ARGV[2]
local prefix = string.sub(base, 1, #base - 1)
local old = redis.call('HGET', fields, id)
if old then
  for name, value in pairs(cjson.decode(old)) do
    if name ~= 'ver' and name ~= 'ms' and value ~= '' then redis.call('ZREM', prefix .. name .. ':' .. tostring(value), id) end
  end
  redis.call('HDEL', fields, id)
end
redis.call('ZREM', index, id)
return 1
`)

// TrimCaseIndexes drops from the case indexes the cases whose keys have
// expired: those resolved more than the retention ago. It reads only index
// entries older than the retention, batch entries at a time, so a pass
// costs little; run it now and then. It returns how many it dropped.
func (s *Store) TrimCaseIndexes(ctx context.Context, now time.Time, batch int) (int, error) {
	if s.Retention <= 0 {
		return 0, nil
	}
	before := strconv.FormatInt(now.Add(-s.Retention).UnixMilli(), 10)
	dropped := 0
	for i, key := range s.keys.Sharded("cases") {
		tag := store.ShardTag("cases", i)
		for kept := 0; ; {
			ids, err := s.r.ZRangeByScore(ctx, key, &redis.ZRangeBy{Min: "-inf", Max: before, Offset: int64(kept), Count: int64(batch)}).Result()
			if err != nil {
				return dropped, fmt.Errorf("read case index %s: %w", key, err)
			}
			for _, id := range ids {
				gone, err := s.caseGone(ctx, id)
				if err != nil {
					return dropped, err
				}
				if !gone {
					kept++ // open for longer than the retention, or reopened
					continue
				}
				if err := trimIndexScript.Run(ctx, s.r, []string{key, s.fieldsKey(tag)}, s.fieldIndexKey(tag, "", ""), id).Err(); err != nil {
					return dropped, fmt.Errorf("drop expired case %s from the indexes: %w", id, err)
				}
				dropped++
			}
			if len(ids) < batch {
				break
			}
		}
	}
	return dropped, nil
}

// caseGone says whether a case's key no longer exists (an entry that names
// no case is gone too).
func (s *Store) caseGone(ctx context.Context, id string) (bool, error) {
	tag, n, err := cases.ParseID(id)
	if err != nil {
		return true, nil
	}
	exists, err := s.r.Exists(ctx, Author{Tag: tag, s: s}.key("cases", strconv.FormatInt(n, 10))).Result()
	if err != nil {
		return false, fmt.Errorf("look up case %s: %w", id, err)
	}
	return exists == 0, nil
}
