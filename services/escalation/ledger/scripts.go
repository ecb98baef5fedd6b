package ledger

import "github.com/redis/go-redis/v9"

// Every script touches only keys of one author, which share a hash tag, so
// each runs on one Redis Cluster node. Keys of a numbered case are derived
// inside the script from the author's key prefix (ARGV), under the same tag.
// The author's own keys are passed in KEYS even though the prefix would
// name them: while a slot is being resharded, Redis checks a script's
// declared keys before running it and redirects it whole, whereas an
// undeclared key that has already moved fails the script half-way, with
// its earlier writes kept. (Deriving them would spare a few allocations.)

// historyLua defines history(when, span, window, streak, reply, handoff):
// the author's history as of event time when, as
// "count:streak:replied:handoff:first", where the window is (when-span,
// when], the streak counts complaints after the brand's last answer, handoff
// is when an unanswered private hand-off began (0: none) and first is when
// the oldest unanswered complaint was made (0: none). It trims the window to
// two spans, so a mention that arrives late still counts what came before
// it, and keeps the streak for ten.
const historyLua = `
local function history(when, span, window, streak, reply, handoff)
  redis.call('ZREMRANGEBYSCORE', window, '-inf', '(' .. (when - 2 * span))
  redis.call('PEXPIRE', window, 2 * span)
  local n = redis.call('ZCOUNT', window, '(' .. (when - span), when)
  local got = redis.call('MGET', reply, handoff)
  local replied, h = got[1] or '0', got[2] or '0'
  local unanswered = redis.call('ZCOUNT', streak, '(' .. replied, when)
  -- The oldest unanswered complaint is looked up only when there is one.
  local first = '0'
  if unanswered > 0 then
    first = redis.call('ZRANGEBYSCORE', streak, '(' .. replied, when, 'WITHSCORES', 'LIMIT', 0, 1)[2] or '0'
  end
  -- PEXPIRE of a key that does not exist does nothing.
  redis.call('PEXPIRE', streak, 10 * span)
  return n .. ':' .. unanswered .. ':' .. replied .. ':' .. h .. ':' .. first
end

-- decidedEvents answers a mention decided before with its stored events,
-- read in one HMGET (evn is their number, as stored in the join).
local function decidedEvents(join, evn)
  local out = {'decided'}
  local n = tonumber(evn or '0')
  if n == 0 then return out end
  local fields = {}
  for i = 1, n do fields[i] = 'ev' .. i end
  for _, ev in ipairs(redis.call('HMGET', join, unpack(fields))) do out[#out + 1] = ev end
  return out
end

-- currentCase is the author's current case: its number, version and bytes.
local function currentCase(pointer, prefix)
  local p = redis.call('HMGET', pointer, 'n', 'ver')
  local n, ver = p[1] or '0', p[2] or '0'
  local current = ''
  if n ~= '0' then current = redis.call('GET', prefix .. 'cases:' .. n) or '' end
  return n, ver, current
end
`

// replyScript reads what judging a brand reply to an author needs: the
// author's history as of the reply, case and latest reach. For a reply
// decided before it returns the stored events, like joinScript.
//
// KEYS: reply's join hash, window zset, unanswered zset, last-answer key,
// case pointer, hand-off key, latest-reach key
// ARGV: reply's event ms, window ms, author key prefix
//
// Answers: {'decided', events...} or {'ready', ”, reach, history, n, version, case}.
var replyScript = redis.NewScript(historyLua + `
local join, window, streak, reply, pointer, handoff, lastreach = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local at, span, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local decided = redis.call('HMGET', join, 'decided', 'evn')
if decided[1] then return decidedEvents(join, decided[2]) end
local hist = history(at, span, window, streak, reply, handoff)
local n, ver, current = currentCase(pointer, prefix)
return {'ready', '', redis.call('GET', lastreach) or '', hist, n, ver, current}
`)

// joinScript stores one part (score or reach) of a mention. When both parts
// are present it counts the complaint in the author's window and streak,
// once, snapshots that history, and returns everything the decision needs
// along with the author's current case. For a mention already decided it
// returns the stored events so that a redelivery can republish them.
//
// The part "timeout" decides a mention from what is there when the other
// part is late; the late part then gets one more look ("late"), with the
// decision made without it.
//
// KEYS: join hash, window zset, unanswered zset, last-answer key, case
// pointer, hand-off key, latest-reach key
// ARGV: part, part bytes, complaint flag (score part only), event ms,
// window ms, ttl ms, mention id, author key prefix
//
// Answers: {'decided', events...}, {'waiting'}, {'gone'},
// {'ready', score, reach, history, n, version, case} (a missing part is ”),
// {'late', decision, part bytes, history, n, version, case}.
var joinScript = redis.NewScript(historyLua + `
local join, window, streak, reply, pointer, handoff, lastreach = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local part, data, complaint, at, span, ttl, mid, prefix = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8]

-- Everything the script reads of the join, in one HMGET; what it writes
-- to the join, it keeps up to date here too.
local f = redis.call('HMGET', join, 'decided', 'missing', 'late', 'evn', 'score', 'reach', 'hist', 'complaint', 'at')
local decided, missing, late, evn = f[1], f[2], f[3], f[4]
local score, reach, hist, stored = f[5], f[6], f[7], {complaint = f[8], at = f[9]}

-- count adds the mention to the window and streak if it is a complaint, and
-- returns the author's history as of the mention's event time.
local function count()
  local when = tonumber(stored.at or at)
  if stored.complaint == '1' then
    redis.call('ZADD', window, when, mid)
    redis.call('ZADD', streak, when, mid)
    -- An author never answered keeps complaining: the streak keeps its
    -- oldest complaint (when the first-response clock started) and the
    -- latest 999, so its count saturates at 1,000 instead of growing
    -- for as long as the author posts.
    redis.call('ZREMRANGEBYRANK', streak, 1, -1000)
  end
  return history(when, span, window, streak, reply, handoff)
end

if decided then
  -- The late part is offered until a revision commits ('done'): one whose
  -- commit conflicted, or whose process died before committing, comes back
  -- here on its retry. The commit lets only one revision in.
  if part ~= 'timeout' and missing == part and late ~= 'done' then
    if part == 'score' then
      redis.call('HSET', join, 'late', '1', 'complaint', complaint, 'at', at)
      stored.complaint, stored.at = complaint, at
    else
      redis.call('HSET', join, 'late', '1')
    end
    local hist = count()
    local n, ver, current = currentCase(pointer, prefix)
    return {'late', decided, data, hist, n, ver, current}
  end
  return decidedEvents(join, evn)
end
-- What this call writes to the join goes in one HSET at the end, with
-- the PEXPIRE after it (a join may not exist before).
local write = {}
local function put(field, value)
  table.insert(write, field)
  table.insert(write, value)
end
local function save()
  if #write > 0 then redis.call('HSET', join, unpack(write)) end
  if part ~= 'timeout' then redis.call('PEXPIRE', join, ttl) end
end
if part == 'timeout' then
  -- A join holding a part exists: EXISTS is asked only of one holding none.
  if not (score or reach) and redis.call('EXISTS', join) == 0 then return {'gone'} end
else
  put(part, data)
  if part == 'score' then
    put('complaint', complaint)
    put('at', at)
    score, stored.complaint, stored.at = data, complaint, at
  elseif part == 'reach' then
    reach = data
    -- The author's latest reach is what a brand reply to them is judged with.
    redis.call('SET', lastreach, data, 'PX', ttl)
  end
end
if part ~= 'timeout' and (not score or not reach) then
  save()
  return {'waiting'}
end
-- With neither part (a timeout racing the join's expiry), 'reach' is
-- recorded missing, as it always was.
if not reach then
  put('missing', 'reach')
elseif not score then
  put('missing', 'score')
end
if not hist then
  hist = count()
  put('hist', hist)
end
save()
local n, ver, current = currentCase(pointer, prefix)
return {'ready', score or '', reach or '', hist, n, ver, current}
`)

// commitScript records a decision and, unless another decision changed the
// author's case since it was read (the version differs), the case after it
// and its events. It returns 'ok', 'already' (decided before) or
// 'conflict' (read again and retry). Every check comes before every write,
// since a script that fails half-way keeps what it wrote.
//
// A brand reply commits through here too, with its effect on the author's
// history in the same step, so a redelivered reply can never answer twice
// nor be lost between its case event and the streak: an answer ends the
// streak of every complaint made before it and closes a private hand-off
// begun before it; a move to private messages opens a hand-off unless one
// is open.
//
// A decision no message will be redelivered for (a join timeout) also puts
// its events in the author's outbox (KEYS[6], given only then), in the same
// step, so a publish that fails is retried from there.
//
// KEYS: join hash, case pointer, unanswered zset, last-answer key, hand-off
// key, and the outbox when the events go through it
// ARGV: expected version, case number (empty for no case change), case
// bytes, decision bytes, ttl ms, author key prefix, timeline cap, late flag
// ("1" when a late part revises a decision), answer ms (” for none),
// hand-off ms to open (” for none), history ttl ms, number of events k,
// k events, their k timeline entries, and with an outbox their k ids
var commitScript = redis.NewScript(`
local join, pointer, streak, reply, handoff = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local expected, n, case, decision, ttl, prefix, cap, late = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8]
local answer, opens, httl = ARGV[9], ARGV[10], ARGV[11]
-- ARGV[12] is the number of events k: the events follow, then their
-- timeline entries (the same events without the case they carry).
local k = tonumber(ARGV[12])
local first, last = 13, 12 + k
-- Everything the script reads of the join, in one HMGET.
local j = redis.call('HMGET', join, 'late', 'decided', 'evn')
if late == '1' then
  -- A late part revises a decision once; the join script let only one in.
  if j[1] ~= '1' then return 'already' end
elseif j[2] then
  return 'already'
end
local ver = redis.call('HGET', pointer, 'ver') or '0'
if n ~= '' and ver ~= expected then return 'conflict' end

if answer ~= '' then
  if tonumber(answer) > tonumber(redis.call('GET', reply) or '0') then
    redis.call('SET', reply, answer, 'PX', httl)
    redis.call('ZREMRANGEBYSCORE', streak, '-inf', answer)
  end
  local h = redis.call('GET', handoff)
  if h and tonumber(h) <= tonumber(answer) then redis.call('DEL', handoff) end
end
if opens ~= '' and tonumber(opens) > tonumber(redis.call('GET', reply) or '0') then
  redis.call('SET', handoff, opens, 'NX', 'PX', httl)
end
if n ~= '' then
  redis.call('HSET', pointer, 'n', n, 'ver', tonumber(ver) + 1)
  -- A decision never resolves a case: SET ends the retention of a
  -- resolved case it reopens, and PERSIST that of its timeline.
  redis.call('SET', prefix .. 'cases:' .. n, case)
  local timeline = prefix .. 'timeline:' .. n
  -- The entries go in one RPUSH, whose answer (the length) says whether
  -- there is anything to trim.
  if k == 0 or redis.call('RPUSH', timeline, unpack(ARGV, last + 1, last + k)) > cap then
    redis.call('LTRIM', timeline, -cap, -1)
  end
  redis.call('PERSIST', timeline)
end
-- The decision, its events and (for a late part) the revision's end go
-- in one HSET.
local evn = tonumber(j[3] or '0')
local fields = {'decided', decision, 'evn', evn + k}
if late == '1' then
  table.insert(fields, 'late')
  table.insert(fields, 'done')
end
for i = first, last do
  table.insert(fields, 'ev' .. (evn + i - first + 1))
  table.insert(fields, ARGV[i])
end
redis.call('HSET', join, unpack(fields))
if KEYS[6] and k > 0 then
  local box = {}
  for i = 1, k do
    table.insert(box, ARGV[last + k + i])
    table.insert(box, ARGV[first + i - 1])
  end
  redis.call('HSET', KEYS[6], unpack(box))
end
-- The parts are in the decision now; the rest of the hash only answers
-- redeliveries, late parts and explain calls until it expires.
if late == '1' then
  redis.call('HDEL', join, 'score', 'reach', 'missing')
else
  redis.call('HDEL', join, 'score', 'reach')
end
redis.call('PEXPIRE', join, ttl)
return 'ok'
`)

// saveScript stores a changed case if nobody changed it since it was read,
// and puts its event in the author's outbox until it is published. A
// command id, when given, is remembered for the command TTL: the same
// command again changes nothing ('already'). A case that is no longer the
// author's latest cannot change ('superseded').
//
// A resolved case and its timeline expire after the retention (ARGV[10],
// 0: kept); any other save keeps them (SET clears the case's expiry).
//
// KEYS: case pointer, outbox
// ARGV: expected version, case number, case bytes, event bytes, author key
// prefix, timeline cap, event id, command id (” for none), command ttl ms,
// retention ms of a resolved case (0 when the case is not resolved),
// timeline entry (the event without its case)
var saveScript = redis.NewScript(`
local pointer = KEYS[1]
local p = redis.call('HMGET', pointer, 'ver', 'n')
local ver = p[1] or '0'
if p[2] ~= ARGV[2] then return 'superseded' end
if ver ~= ARGV[1] then return 'conflict' end
if ARGV[8] ~= '' and not redis.call('SET', ARGV[5] .. 'command:' .. ARGV[8], '1', 'NX', 'PX', ARGV[9]) then
  return 'already'
end
redis.call('HSET', pointer, 'ver', tonumber(ver) + 1)
local casekey = ARGV[5] .. 'cases:' .. ARGV[2]
redis.call('SET', casekey, ARGV[3])
local timeline = ARGV[5] .. 'timeline:' .. ARGV[2]
-- RPUSH answers the length: only a timeline past its cap is trimmed.
if redis.call('RPUSH', timeline, ARGV[11]) > tonumber(ARGV[6]) then
  redis.call('LTRIM', timeline, -tonumber(ARGV[6]), -1)
end
local keep = tonumber(ARGV[10] or '0')
if keep > 0 then
  redis.call('PEXPIRE', casekey, keep)
  redis.call('PEXPIRE', timeline, keep)
else
  redis.call('PERSIST', timeline)
end
redis.call('HSET', KEYS[2], ARGV[7], ARGV[4])
return 'ok'
`)
