// Package ledger keeps escalation's state in Redis: the join of each
// mention's score and reach, each author's complaint window and unanswered
// streak, decisions, and cases with their timelines. Each author's keys share
// a hash tag, and each decision costs two round trips: join, then commit
// (with the case indexes in the commit's pipeline).
package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/platform/store"
)

// ErrConflict means the author's case changed between read and write.
var ErrConflict = errors.New("case changed concurrently")

// timelineCap bounds a case's stored timeline.
const timelineCap = 1000

// Store is escalation's Redis state.
type Store struct {
	r    redis.UniversalClient
	keys store.Keys
	// TTL is how long a decision is kept to answer redeliveries and
	// explain calls.
	TTL time.Duration
	// JoinTimeout is how long a mention waits for its other part before it
	// is decided without it.
	JoinTimeout time.Duration
	// Retention is how long a resolved case, its timeline and its index
	// entries are kept after its last change; 0 keeps them for ever.
	Retention time.Duration
	// Watch, when set, is a key read in the same round trip as every join
	// (the silences' version), returned as Joined.Watched.
	Watch string
}

// New returns a store over r with keys under keys.Prefix.
func New(r redis.UniversalClient, keys store.Keys, ttl, joinTimeout time.Duration) *Store {
	return &Store{r: r, keys: keys, TTL: ttl, JoinTimeout: joinTimeout}
}

// AuthorKey identifies an author towards a brand on a platform.
func AuthorKey(brand string, p fbv1.Platform, authorID string) string {
	return brand + "/" + strings.ToLower(strings.TrimPrefix(p.String(), "PLATFORM_")) + "/" + authorID
}

// Author is one author's keys.
type Author struct {
	Key string
	Tag string
	s   *Store
}

// Author returns the keys of authorKey.
func (s *Store) Author(authorKey string) Author {
	return Author{Key: authorKey, Tag: store.Tag(authorKey), s: s}
}

func (a Author) key(parts ...string) string { return a.s.keys.Of(a.Tag, parts...) }
func (a Author) prefix() string             { return a.s.keys.Of(a.Tag) + ":" }

// Part is one half of a mention's join; Data is the whole ScoredMention or
// ReachedMention, so either half can decide the mention alone.
type Part struct {
	// Name is "score" or "reach", or Timeout to decide without the part
	// that has not come.
	Name string
	Data []byte
	// Complaint and At come with the score part: whether the policy counts
	// the mention as a complaint, and when it was made.
	Complaint bool
	At        time.Time
}

// Timeout is the Part name that decides a mention without its late part.
const Timeout = "timeout"

// Joined is what Join found.
type Joined struct {
	// Decided holds the stored events of a mention decided before.
	Decided [][]byte
	// Ready is true when the mention is to be decided now: both parts are
	// present, or (for Timeout) one is and the other is late.
	Ready bool
	// Late is set when the part that a decision was made without arrives;
	// Prior is that decision, and Score or Reach the late part.
	Late  bool
	Prior *fbv1.Decision
	// Mention is the mention, as carried by whichever part is present.
	Mention *fbv1.Mention
	Score   *fbv1.Score
	Reach   *fbv1.Reach
	History *fbv1.History
	Current cases.Current
	// Watched is the value of Store.Watch when the join was read.
	Watched string
	// Outbox is set when a timeout brings the join: no message will be
	// redelivered to publish the decision's events again, so Commit puts
	// them in the case's outbox (see Store.Outbox and Store.Sent).
	Outbox  bool
	version string
}

// Join stores a part of mention mentionID and returns what is known: a
// JoinAll of one.
//
// side adds commands to the join's round trip that may fail on their own
// (see Side): a mention's surge count rides with its score's join.
func (s *Store) Join(ctx context.Context, a Author, mentionID string, p Part, window time.Duration, also ...Side) (Joined, error) {
	out, errs := s.JoinAll(ctx, []JoinRequest{{Author: a, MentionID: mentionID, Part: p, Side: also}}, window)
	return out[0], errs[0]
}

// JoinRequest is one part to join (see Join).
type JoinRequest struct {
	Author    Author
	MentionID string
	Part      Part
	Side      []Side
	// Scored, when the part is a score, is its Data decoded: a join the
	// score completes takes the score and mention from it rather than
	// decode the same bytes again. Joined then shares its messages.
	Scored *fbv1.ScoredMention
}

// call is one script call with the commands that ride with it in a
// pipeline (see runPipelined), and how to read its answer.
type call[T any] struct {
	script *redis.Script
	keys   []string
	args   []any
	extra  func(redis.Pipeliner) []redis.Cmder
	read   func(*redis.Cmd) (T, error)
}

// watch reads Store.Watch once per pipeline, however many joins ride in
// it: each join's answer is read in the same round trip.
type watch struct {
	pipe redis.Pipeliner
	cmd  *redis.StringCmd
}

func (w *watch) in(ctx context.Context, pipe redis.Pipeliner, key string) *redis.StringCmd {
	if w.pipe != pipe {
		w.pipe, w.cmd = pipe, pipe.Get(ctx, key)
	}
	return w.cmd
}

func (s *Store) joinCall(ctx context.Context, r JoinRequest, window time.Duration, w *watch) call[Joined] {
	a, mentionID, p := r.Author, r.MentionID, r.Part
	complaint := "0"
	if p.Complaint {
		complaint = "1"
	}
	var watched *redis.StringCmd
	return call[Joined]{
		script: joinScript,
		keys:   a.historyKeys(mentionID),
		args:   []any{p.Name, p.Data, complaint, p.At.UnixMilli(), window.Milliseconds(), s.TTL.Milliseconds(), mentionID, a.prefix()},
		extra: func(pipe redis.Pipeliner) []redis.Cmder {
			// Every part arms the join's timeout; the commit disarms it.
			if p.Name != Timeout {
				pipe.ZAddNX(ctx, s.joinsKey(a.Tag), redis.Z{Score: float64(time.Now().Add(s.JoinTimeout).UnixMilli()), Member: a.Tag + "|" + mentionID})
			}
			if s.Watch != "" {
				watched = w.in(ctx, pipe, s.Watch)
			}
			var side []redis.Cmder
			for _, f := range r.Side {
				side = append(side, f(ctx, pipe)...)
			}
			return side
		},
		read: func(cmd *redis.Cmd) (Joined, error) {
			res, err := cmd.StringSlice()
			if err != nil {
				return Joined{}, err
			}
			var sent *fbv1.ScoredMention
			if p.Name == "score" {
				sent = r.Scored
			}
			j, err := parseJoin(res, p.Name, window, sent, p.Data)
			j.Outbox = p.Name == Timeout
			if watched != nil {
				j.Watched = watched.Val()
			}
			return j, err
		},
	}
}

// parseJoin reads the join script's answer. sent, when not nil, is the
// score part this join sent (data), decoded.
func parseJoin(res []string, part string, window time.Duration, sent *fbv1.ScoredMention, data []byte) (Joined, error) {
	switch res[0] {
	case "decided":
		out := Joined{}
		for _, ev := range res[1:] {
			out.Decided = append(out.Decided, []byte(ev))
		}
		if out.Decided == nil {
			out.Decided = [][]byte{}
		}
		return out, nil
	case "waiting", "gone":
		return Joined{}, nil
	case "late":
		return parseLate(res, part, window)
	}
	return parseReady(res, window, sent, data)
}

// parseReady reads {'ready', score, reach, history, n, version, case}.
// sent, when not nil, is data decoded: a stored score of the same bytes is
// taken from it.
func parseReady(res []string, window time.Duration, sent *fbv1.ScoredMention, data []byte) (Joined, error) {
	out := Joined{Ready: true, version: res[5]}
	if res[1] != "" {
		sm := sent
		if sm == nil || res[1] != string(data) {
			sm = &fbv1.ScoredMention{}
			if err := proto.Unmarshal([]byte(res[1]), sm); err != nil {
				return Joined{}, fmt.Errorf("decode stored score: %w", err)
			}
		}
		out.Score, out.Mention = sm.Score, sm.Mention
	}
	switch {
	case res[2] == "":
	case out.Mention != nil:
		// The score carried the mention: the reach's copy of it is not
		// decoded, only the reach.
		reach, err := reachOf([]byte(res[2]))
		if err != nil {
			return Joined{}, fmt.Errorf("decode stored reach: %w", err)
		}
		out.Reach = reach
	default:
		var rm fbv1.ReachedMention
		if err := proto.Unmarshal([]byte(res[2]), &rm); err != nil {
			return Joined{}, fmt.Errorf("decode stored reach: %w", err)
		}
		out.Reach, out.Mention = rm.Reach, rm.Mention
	}
	return withCase(out, res[3:], window)
}

// reachField is ReachedMention's reach field.
var reachField = (&fbv1.ReachedMention{}).ProtoReflect().Descriptor().Fields().ByName("reach").Number()

// reachOf decodes the reach of an encoded ReachedMention and skips its
// mention, which is most of its bytes. Like proto.Unmarshal it merges a
// field that occurs more than once, and it is nil when there is none.
func reachOf(b []byte) (*fbv1.Reach, error) {
	var reach *fbv1.Reach
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if num != reachField || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return nil, protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if reach == nil {
			reach = &fbv1.Reach{}
		}
		if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(v, reach); err != nil {
			return nil, err
		}
	}
	return reach, nil
}

// parseLate reads {'late', decision, part, history, n, version, case}.
func parseLate(res []string, part string, window time.Duration) (Joined, error) {
	out := Joined{Late: true, Prior: &fbv1.Decision{}, version: res[5]}
	if err := proto.Unmarshal([]byte(res[1]), out.Prior); err != nil {
		return Joined{}, fmt.Errorf("decode stored decision: %w", err)
	}
	out.Score, out.Reach = out.Prior.Score, out.Prior.Reach
	if part == "score" {
		var sm fbv1.ScoredMention
		if err := proto.Unmarshal([]byte(res[2]), &sm); err != nil {
			return Joined{}, fmt.Errorf("decode late score: %w", err)
		}
		out.Score, out.Mention = sm.Score, sm.Mention
	} else {
		var rm fbv1.ReachedMention
		if err := proto.Unmarshal([]byte(res[2]), &rm); err != nil {
			return Joined{}, fmt.Errorf("decode late reach: %w", err)
		}
		out.Reach, out.Mention = rm.Reach, rm.Mention
	}
	return withCase(out, res[3:], window)
}

// withCase reads {history, n, version, case}.
func withCase(out Joined, res []string, window time.Duration) (Joined, error) {
	h, err := parseHistory(res[0], window)
	if err != nil {
		return Joined{}, err
	}
	out.History = h
	out.Current.N, _ = strconv.ParseInt(res[1], 10, 64)
	if res[3] != "" {
		out.Current.Case = &fbv1.Case{}
		if err := proto.Unmarshal([]byte(res[3]), out.Current.Case); err != nil {
			return Joined{}, fmt.Errorf("decode stored case: %w", err)
		}
	}
	return out, nil
}

// historyKeys are the keys joinScript and replyScript read, in order.
func (a Author) historyKeys(mentionID string) []string {
	return []string{a.key("join", mentionID), a.key("window"), a.key("unanswered"), a.key("reply"), a.key("case"), a.key("handoff"), a.key("reach")}
}

// parseHistory reads "count:streak:answered:handoff:first" (see historyLua).
// Joins stored before hand-offs existed hold the first three fields only.
func parseHistory(s string, window time.Duration) (*fbv1.History, error) {
	f := strings.Split(s, ":")
	if len(f) != 3 && len(f) != 5 {
		return nil, fmt.Errorf("stored history %q is malformed", s)
	}
	f = append(f, "0", "0")[:5]
	count, err1 := strconv.Atoi(f[0])
	streak, err2 := strconv.Atoi(f[1])
	var ms [3]int64
	var errs [3]error
	for i := range ms {
		ms[i], errs[i] = strconv.ParseInt(f[2+i], 10, 64)
	}
	if err := errors.Join(err1, err2, errs[0], errs[1], errs[2]); err != nil {
		return nil, fmt.Errorf("stored history %q: %w", s, err)
	}
	h := &fbv1.History{ComplaintsInWindow: int32(count), UnansweredStreak: int32(streak), WindowSeconds: int64(window.Seconds())}
	h.LastBrandReplyAt = timestampMillis(ms[0])
	h.PrivateHandoffAt = timestampMillis(ms[1])
	h.FirstUnansweredAt = timestampMillis(ms[2])
	return h, nil
}

// Commit stores a decision and, when the case changed, the case and its
// events, in the same round trip as the indexes. It returns ErrConflict if
// the author's case changed since Join read it.
// due, when not zero, is when the case's chain must next be looked at.
// also adds idempotent writes (the insights' counts) to the same round
// trip; they run whether or not the decision was already stored, so a
// redelivery after a crash completes them.
func (s *Store) Commit(ctx context.Context, a Author, j Joined, d *fbv1.Decision, c *fbv1.Case, events []*fbv1.CaseEvent, due time.Time, also ...Also) (already bool, err error) {
	done, errs := s.CommitAll(ctx, []CommitRequest{{Author: a, Joined: j, Decision: d, Case: c, Events: events, Due: due, Also: also}})
	if errs[0] != nil && !errors.Is(errs[0], ErrConflict) {
		return false, fmt.Errorf("commit decision on mention %s: %w", d.MentionId, errs[0])
	}
	return done[0], errs[0]
}

// Also adds idempotent writes to a commit's pipeline.
type Also func(ctx context.Context, pipe redis.Pipeliner)

// Side adds commands to a join's pipeline and returns those whose failure
// must not fail the join (their reader handles it); the join's own
// failure leaves them unread.
type Side func(ctx context.Context, pipe redis.Pipeliner) []redis.Cmder

// ReplyEffect is what a brand reply does to the author's history.
type ReplyEffect struct {
	// Answer, when set, ends the streak of complaints made before it and
	// closes a private hand-off begun before it.
	Answer time.Time
	// Handoff, when set, opens a private hand-off at that time unless one
	// is open.
	Handoff time.Time
	// Keep is how long the history it writes is kept.
	Keep time.Duration
}

// CommitReply stores the decision on a brand reply (read by Reply) with its
// effect on the author's history, in one step.
func (s *Store) CommitReply(ctx context.Context, a Author, j Joined, d *fbv1.Decision, c *fbv1.Case, events []*fbv1.CaseEvent, due time.Time, eff ReplyEffect, also ...Also) (already bool, err error) {
	return s.commit(ctx, a, j, d, c, events, due, eff, also)
}

func (s *Store) commit(ctx context.Context, a Author, j Joined, d *fbv1.Decision, c *fbv1.Case, events []*fbv1.CaseEvent, due time.Time, eff ReplyEffect, also []Also) (already bool, err error) {
	call, err := s.commitCall(ctx, CommitRequest{Author: a, Joined: j, Decision: d, Case: c, Events: events, Due: due, Also: also}, eff)
	if err != nil {
		return false, err
	}
	err = runPipelined(ctx, s.r, call.script, call.keys, call.args, func(cmd *redis.Cmd) error {
		var err error
		already, err = call.read(cmd)
		return err
	}, call.extra)
	if err != nil && !errors.Is(err, ErrConflict) {
		return false, fmt.Errorf("commit decision on mention %s: %w", d.MentionId, err)
	}
	return already, err
}

// CommitRequest is one decision to commit (see Commit).
type CommitRequest struct {
	Author   Author
	Joined   Joined
	Decision *fbv1.Decision
	Case     *fbv1.Case
	Events   []*fbv1.CaseEvent
	Due      time.Time
	Also     []Also
}

func (s *Store) commitCall(ctx context.Context, r CommitRequest, eff ReplyEffect) (call[bool], error) {
	a, j, d, c, events, due, also := r.Author, r.Joined, r.Decision, r.Case, r.Events, r.Due, r.Also
	dec, err := proto.Marshal(d)
	if err != nil {
		return call[bool]{}, fmt.Errorf("encode decision: %w", err)
	}
	late := "0"
	if j.Late {
		late = "1"
	}
	args := []any{j.version, "", "", dec, s.TTL.Milliseconds(), a.prefix(), timelineCap, late, msOrEmpty(eff.Answer), msOrEmpty(eff.Handoff), max(eff.Keep, s.TTL).Milliseconds()}
	if c != nil {
		_, n, err := cases.ParseID(c.Id)
		if err != nil {
			return call[bool]{}, err
		}
		caseBytes, err := proto.Marshal(c)
		if err != nil {
			return call[bool]{}, fmt.Errorf("encode case %s: %w", c.Id, err)
		}
		args[1], args[2] = strconv.FormatInt(n, 10), caseBytes
	}
	args = append(args, len(events))
	entries := make([]any, 0, len(events))
	for _, e := range events {
		StampTrace(ctx, e)
		b, err := proto.Marshal(e)
		if err != nil {
			return call[bool]{}, fmt.Errorf("encode event %s: %w", e.Id, err)
		}
		entry, err := timelineEntry(e)
		if err != nil {
			return call[bool]{}, err
		}
		args, entries = append(args, b), append(entries, entry)
	}
	args = append(args, entries...)
	var reindexed *redis.Cmd
	ver, _ := strconv.ParseInt(j.version, 10, 64)
	keys := []string{a.key("join", d.MentionId), a.key("case"), a.key("unanswered"), a.key("reply"), a.key("handoff")}
	if j.Outbox {
		keys = append(keys, a.key("outbox"))
		for _, e := range events {
			args = append(args, e.Id)
		}
	}
	return call[bool]{
		script: commitScript, keys: keys, args: args,
		extra: func(pipe redis.Pipeliner) []redis.Cmder {
			pipe.Set(ctx, s.keys.Global("mention", d.MentionId), a.Tag, s.TTL)
			pipe.ZRem(ctx, s.joinsKey(a.Tag), a.Tag+"|"+d.MentionId)
			if c != nil {
				s.indexCase(ctx, pipe, c)
				s.scheduleEarlier(ctx, pipe, c.Id, due)
				reindexed = s.reindexIn(ctx, pipe, c, ver+1)
			}
			for _, f := range also {
				f(ctx, pipe)
			}
			return []redis.Cmder{reindexed}
		},
		read: func(cmd *redis.Cmd) (already bool, err error) {
			answer, err := cmd.Text()
			if err != nil {
				return false, err
			}
			if c != nil {
				s.afterReindex(ctx, answer == "ok", reindexed, c, ver+1)
			}
			switch answer {
			case "ok":
				return false, nil
			case "already":
				return true, nil
			case "conflict":
				return false, ErrConflict
			}
			return false, fmt.Errorf("unexpected answer %q", answer)
		},
	}, nil
}

func msOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// Reply reads what judging brand reply replyID, made at at, to author a
// needs: the author's history as of the reply, current case and latest
// reach (Reach and Mention, the author's latest mention, nil if unknown).
// For a reply decided before, Decided holds its stored events.
func (s *Store) Reply(ctx context.Context, a Author, replyID string, at time.Time, window time.Duration) (Joined, error) {
	res, err := replyScript.Run(ctx, s.r, a.historyKeys(replyID), at.UnixMilli(), window.Milliseconds(), a.prefix()).StringSlice()
	if err != nil {
		return Joined{}, fmt.Errorf("read history of %s for brand reply %s: %w", a.Key, replyID, err)
	}
	if res[0] == "decided" {
		out := Joined{Decided: [][]byte{}}
		for _, ev := range res[1:] {
			out.Decided = append(out.Decided, []byte(ev))
		}
		return out, nil
	}
	return parseReady(res, window, nil, nil)
}

// runPipelined runs a script by its hash together with other commands in one
// round trip. A server that lost its script cache (a restart, a failover)
// answers NOSCRIPT, which a pipelined EVALSHA cannot fall back from; then the
// script is loaded and the pipeline sent again, which is safe because a
// script that was not found did not run.
//
// extra adds the other commands and returns those whose failure is the
// caller's to make up for (a side script that may answer NOSCRIPT too):
// their errors do not fail the call, since the main script has run.
func runPipelined(ctx context.Context, r redis.UniversalClient, script *redis.Script, keys []string, args []any,
	read func(*redis.Cmd) error, extra func(redis.Pipeliner) []redis.Cmder) error {
	for attempt := 0; ; attempt++ {
		pipe := r.Pipeline()
		cmd := script.EvalSha(ctx, pipe, keys, args...)
		tolerated := extra(pipe)
		cmds, err := pipe.Exec(ctx)
		if err != nil && redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") && attempt == 0 {
			if err := script.Load(ctx, r).Err(); err != nil {
				return fmt.Errorf("load script: %w", err)
			}
			continue
		}
		if cmd.Err() != nil {
			return cmd.Err()
		}
		if err := read(cmd); err != nil {
			return err
		}
		// The script ran: what rode with it to other slots is sent again
		// until it is written (see resend).
		return resend(ctx, r, failed(cmds[1:], tolerated))
	}
}

// joinsKey is the shard of the overdue-join index that holds an author's
// mentions: sharded by author, so one author's joins stay together.
func (s *Store) joinsKey(authorTag string) string { return s.keys.ShardOf("joins", authorTag) }

// ClaimDueJoins claims mentions whose other part is overdue, up to limit a
// shard; each is returned as (author tag, mention id).
func (s *Store) ClaimDueJoins(ctx context.Context, now time.Time, lease time.Duration, limit int) ([][2]string, error) {
	ids, err := store.ClaimDue(ctx, s.r, s.keys.Sharded("joins"), now, lease, limit)
	if err != nil {
		return nil, fmt.Errorf("claim overdue joins: %w", err)
	}
	out := make([][2]string, 0, len(ids))
	for _, id := range ids {
		if tag, mid, ok := strings.Cut(id, "|"); ok {
			out = append(out, [2]string{tag, mid})
		}
	}
	return out, nil
}

// Forget drops an overdue join that no longer exists (its hash expired).
func (s *Store) Forget(ctx context.Context, tag, mentionID string) error {
	return s.r.ZRem(ctx, s.joinsKey(tag), tag+"|"+mentionID).Err()
}

// holdScript counts a hold of the undecided join KEYS[1] and answers the
// holds so far: -1 when the join is gone or decided (nothing to hold).
var holdScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'decided') == 1 then return -1 end
return redis.call('HINCRBY', KEYS[1], 'holds', 1)`)

// HoldJoin puts off the timeout of an overdue join until until, unless it
// was put off max times already (held false: decide it now).
func (s *Store) HoldJoin(ctx context.Context, tag, mentionID string, until time.Time, max int) (held bool, err error) {
	a := Author{Tag: tag, s: s}
	n, err := holdScript.Run(ctx, s.r, []string{a.key("join", mentionID)}).Int()
	if err != nil || n < 0 || n > max {
		return false, err
	}
	err = s.r.ZAddXX(ctx, s.joinsKey(tag), redis.Z{Score: float64(until.UnixMilli()), Member: tag + "|" + mentionID}).Err()
	return err == nil, err
}

// AuthorByTag returns the keys of an author known only by tag.
func (s *Store) AuthorByTag(tag string) Author { return Author{Tag: tag, s: s} }

// Joining reports whether mention mentionID of author a is waiting for its
// score or reach (its join exists, undecided).
func (s *Store) Joining(ctx context.Context, a Author, mentionID string) (bool, error) {
	pipe := s.r.Pipeline()
	exists := pipe.Exists(ctx, a.key("join", mentionID))
	decided := pipe.HExists(ctx, a.key("join", mentionID), "decided")
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("read join of mention %s: %w", mentionID, err)
	}
	return exists.Val() == 1 && !decided.Val(), nil
}

// redecideScript replaces a decided mention's recorded decision, keeping
// its events and expiry; a join already gone is left gone.
var redecideScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'decided') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'decided', ARGV[1])
return 1
`)

// Redecide records d as the decision of its mention, which was decided
// before: a post decided again as it spreads is explained by its latest
// decision.
func (s *Store) Redecide(ctx context.Context, a Author, d *fbv1.Decision) error {
	b, err := proto.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode decision: %w", err)
	}
	if err := redecideScript.Run(ctx, s.r, []string{a.key("join", d.MentionId)}, b).Err(); err != nil {
		return fmt.Errorf("record the new decision on mention %s: %w", d.MentionId, err)
	}
	return nil
}
