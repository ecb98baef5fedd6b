package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
)

// Loaded is a case with the version it was read at.
type Loaded struct {
	Case    *fbv1.Case
	version string
	n       int64
}

// Version identifies the stored state the case was read at.
func (l Loaded) Version() string { return l.version }

// Case reads a case by id.
func (s *Store) Case(ctx context.Context, id string) (Loaded, error) {
	tag, n, err := cases.ParseID(id)
	if err != nil {
		return Loaded{}, err
	}
	a := Author{Tag: tag, s: s}
	pipe := s.r.Pipeline()
	ver := pipe.HGet(ctx, a.key("case"), "ver")
	data := pipe.Get(ctx, a.key("cases", strconv.FormatInt(n, 10)))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Loaded{}, fmt.Errorf("read case %s: %w", id, err)
	}
	if errors.Is(data.Err(), redis.Nil) {
		return Loaded{}, fmt.Errorf("%w: %s", cases.ErrNotFound, id)
	}
	c := &fbv1.Case{}
	if err := proto.Unmarshal([]byte(data.Val()), c); err != nil {
		return Loaded{}, fmt.Errorf("decode case %s: %w", id, err)
	}
	return Loaded{Case: c, version: ver.Val(), n: n}, nil
}

// ErrSuperseded means the case is not the author's latest, so it cannot
// change: the author's newer case is the one to act on.
var ErrSuperseded = errors.New("the author has a newer case")

// ErrAlready means the command was applied before.
var ErrAlready = errors.New("command already applied")

// commandTTL is how long an applied command's id is remembered: longer
// than any redelivery of it.
const commandTTL = 24 * time.Hour

// Save stores a changed case and its event if nobody changed the case since
// it was loaded; otherwise ErrConflict (ErrSuperseded when the author has a
// newer case). due, when not zero, is when the case's chain must next be
// looked at. See SaveCommand.
func (s *Store) Save(ctx context.Context, l Loaded, c *fbv1.Case, e *fbv1.CaseEvent, due time.Time) error {
	return s.SaveCommand(ctx, l, c, e, due, "")
}

// SaveCommand is Save for the effect of a command: a command id already
// applied to the author's cases in the last day changes nothing and
// returns ErrAlready, so a redelivered command is applied once.
func (s *Store) SaveCommand(ctx context.Context, l Loaded, c *fbv1.Case, e *fbv1.CaseEvent, due time.Time, commandID string) error {
	tag, _, _ := cases.ParseID(c.Id)
	a := Author{Tag: tag, s: s}
	StampTrace(ctx, e)
	caseBytes, err := proto.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode case %s: %w", c.Id, err)
	}
	evBytes, err := proto.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", e.Id, err)
	}
	entry, err := timelineEntry(e)
	if err != nil {
		return err
	}
	var answer string
	var reindexed *redis.Cmd
	ver, _ := strconv.ParseInt(l.version, 10, 64)
	err = runPipelined(ctx, s.r, saveScript, []string{a.key("case"), a.key("outbox")},
		[]any{l.version, l.n, caseBytes, evBytes, a.prefix(), timelineCap, e.Id, commandID, commandTTL.Milliseconds(), s.retained(c).Milliseconds(), entry},
		func(cmd *redis.Cmd) error {
			var err error
			answer, err = cmd.Text()
			return err
		},
		func(pipe redis.Pipeliner) []redis.Cmder {
			s.indexCase(ctx, pipe, c)
			s.scheduleEarlier(ctx, pipe, c.Id, due)
			reindexed = s.reindexIn(ctx, pipe, c, ver+1)
			return []redis.Cmder{reindexed}
		})
	if err != nil {
		return fmt.Errorf("save case %s: %w", c.Id, err)
	}
	s.afterReindex(ctx, answer == "ok", reindexed, c, ver+1)
	switch answer {
	case "conflict":
		return fmt.Errorf("save case %s: %w", c.Id, ErrConflict)
	case "superseded":
		return fmt.Errorf("save case %s: %w", c.Id, ErrSuperseded)
	case "already":
		return fmt.Errorf("save case %s: command %s: %w", c.Id, commandID, ErrAlready)
	}
	return nil
}

// retained is how long a case is kept after this save: the retention for
// a resolved case, 0 (for ever) for any other.
func (s *Store) retained(c *fbv1.Case) time.Duration {
	if c.State != fbv1.CaseState_CASE_STATE_RESOLVED {
		return 0
	}
	return s.Retention
}

// timelineEntry is an event as its case's timeline keeps it: without the
// case it carries, which is stored once beside the timeline. A timeline of
// a thousand events then costs a thousand events, not a thousand cases.
func timelineEntry(e *fbv1.CaseEvent) ([]byte, error) {
	c := e.Case
	e.Case = nil
	b, err := proto.Marshal(e)
	e.Case = c
	if err != nil {
		return nil, fmt.Errorf("encode timeline entry %s: %w", e.Id, err)
	}
	return b, nil
}

// StampTrace gives e the trace of the work that caused it, once, so the
// console can link a timeline entry to its trace. Events are stamped with
// ctx's trace as they are stored unless stamped before: in a batch, with
// the trace of the message that caused each.
func StampTrace(ctx context.Context, e *fbv1.CaseEvent) {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() && e.TraceId == "" {
		e.TraceId = sc.TraceID().String()
	}
}

// Timeline returns a case's events, oldest first.
func (s *Store) Timeline(ctx context.Context, id string) ([]*fbv1.CaseEvent, error) {
	tag, n, err := cases.ParseID(id)
	if err != nil {
		return nil, err
	}
	a := Author{Tag: tag, s: s}
	raw, err := s.r.LRange(ctx, a.key("timeline", strconv.FormatInt(n, 10)), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read timeline of case %s: %w", id, err)
	}
	out, err := decodeEvents(raw, "timeline", id)
	for _, e := range out {
		e.Case = nil // entries stored before timelineEntry carry their case
	}
	return out, err
}

// Filter selects cases in List; zero fields match everything.
type Filter struct {
	State    fbv1.CaseState
	Team     string
	Priority fbv1.Priority
	Brand    string
	Assignee string
	// Kind, when CASE_KIND_INCIDENT, keeps only incidents.
	Kind fbv1.CaseKind
}

func (f Filter) match(c *fbv1.Case) bool {
	return (f.State == 0 || c.State == f.State) && (f.Team == "" || c.Team == f.Team) &&
		(f.Priority == 0 || c.Priority == f.Priority) && (f.Brand == "" || c.Brand == f.Brand) &&
		(f.Assignee == "" || c.Assignee == f.Assignee) && (f.Kind == 0 || c.Kind == f.Kind)
}

// casesKey is the shard of the case index (member case id, score its last
// update in ms) that holds case id.
func (s *Store) casesKey(id string) string { return s.keys.ShardOf("cases", id) }

// maxExamined bounds the cases one List call reads. The most selective
// index of a filter usually holds only matches, but a filter on two common
// values (a big team and a busy assignee) can match few of the cases its
// index holds; past this many, List returns the page so far with a cursor,
// and the caller pages on, so no call reads without bound.
const maxExamined = 2000

// List returns up to size cases matching f, most recently updated first,
// from cursor on (empty: the start), and the cursor to continue from (empty
// when there is no more). It reads the index of f's most selective field
// (caseindex.go) and matches the other fields on the cases read; a page may
// hold fewer than size cases, with a cursor, when maxExamined cases were
// read. The indexes are sharded, so a page merges the shards' next entries
// in (updated, id) order; a cursor names the last case examined
// ("<updated ms>:<case id>"), so pages hold whatever was added since.
func (s *Store) List(ctx context.Context, f Filter, cursor string, size int) ([]*fbv1.Case, string, error) {
	after, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	keys, err := s.listKeys(ctx, f)
	if err != nil {
		return nil, "", err
	}
	const batch = 200
	var out []*fbv1.Case
	for examined := 0; ; {
		if examined >= maxExamined {
			return out, after.String(), nil
		}
		entries, err := s.nextEntries(ctx, keys, after, min(batch, maxExamined-examined))
		if err != nil {
			return nil, "", err
		}
		if len(entries) == 0 {
			return out, "", nil
		}
		ids := make([]string, len(entries))
		for i, e := range entries {
			ids[i] = e.id
		}
		got, err := s.many(ctx, ids)
		if err != nil {
			return nil, "", err
		}
		examined += len(entries)
		for i, c := range got {
			e := entries[i]
			after = &e
			if c != nil && f.match(c) {
				out = append(out, c)
				if len(out) == size {
					return out, after.String(), nil
				}
			}
		}
	}
}

// indexEntry is a case's place in the index.
type indexEntry struct {
	ms int64
	id string
}

// before orders entries as a page lists them: newest first, then by id
// descending (ZREVRANGE's order within one score).
func (e indexEntry) before(o indexEntry) bool {
	return e.ms > o.ms || (e.ms == o.ms && e.id > o.id)
}

func (e indexEntry) String() string { return strconv.FormatInt(e.ms, 10) + ":" + e.id }

// ErrBadCursor is a page cursor this store did not make.
var ErrBadCursor = errors.New("page token is not one this server returned; start without it")

func parseCursor(cursor string) (*indexEntry, error) {
	if cursor == "" {
		return nil, nil
	}
	ms, id, ok := strings.Cut(cursor, ":")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" {
		return nil, ErrBadCursor
	}
	return &indexEntry{ms: n, id: id}, nil
}

// nextEntries returns the n entries after cursor of the index whose shards
// are keys (all shards merged).
// Each shard gives its first n after the cursor, which holds the merged
// first n; entries tied with the cursor's score are read past in pages.
func (s *Store) nextEntries(ctx context.Context, keys []string, after *indexEntry, n int) ([]indexEntry, error) {
	var all []indexEntry
	for _, key := range keys {
		got, err := s.shardEntries(ctx, key, after, n)
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
	}
	slices.SortFunc(all, func(a, b indexEntry) int {
		switch {
		case a.before(b):
			return -1
		case b.before(a):
			return 1
		}
		return 0
	})
	return all[:min(n, len(all))], nil
}

func (s *Store) shardEntries(ctx context.Context, key string, after *indexEntry, n int) ([]indexEntry, error) {
	top := "+inf"
	if after != nil {
		top = strconv.FormatInt(after.ms, 10)
	}
	var out []indexEntry
	for offset := int64(0); len(out) < n; offset += int64(n) {
		zs, err := s.r.ZRevRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Max: top, Min: "-inf", Offset: offset, Count: int64(n)}).Result()
		if err != nil {
			return nil, fmt.Errorf("list cases: %w", err)
		}
		for _, z := range zs {
			e := indexEntry{ms: int64(z.Score), id: fmt.Sprint(z.Member)}
			if after == nil || after.before(e) {
				out = append(out, e)
			}
		}
		if len(zs) < n {
			break
		}
	}
	return out, nil
}

func (s *Store) many(ctx context.Context, ids []string) ([]*fbv1.Case, error) {
	pipe := s.r.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		tag, n, err := cases.ParseID(id)
		if err != nil {
			continue
		}
		cmds[i] = pipe.Get(ctx, Author{Tag: tag, s: s}.key("cases", strconv.FormatInt(n, 10)))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read cases: %w", err)
	}
	out := make([]*fbv1.Case, len(ids))
	for i, cmd := range cmds {
		if cmd == nil || cmd.Err() != nil {
			continue
		}
		c := &fbv1.Case{}
		if err := proto.Unmarshal([]byte(cmd.Val()), c); err == nil {
			out[i] = c
		}
	}
	return out, nil
}

// Decision returns the decision recorded for a mention.
func (s *Store) Decision(ctx context.Context, mentionID string) (*fbv1.Decision, error) {
	tag, err := s.r.Get(ctx, s.keys.Global("mention", mentionID)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: no decision recorded for mention %s (undecided, unknown, or expired)", cases.ErrNotFound, mentionID)
	}
	if err != nil {
		return nil, fmt.Errorf("find decision of mention %s: %w", mentionID, err)
	}
	raw, err := s.r.HGet(ctx, Author{Tag: tag, s: s}.key("join", mentionID), "decided").Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: decision of mention %s has expired", cases.ErrNotFound, mentionID)
	}
	if err != nil {
		return nil, fmt.Errorf("read decision of mention %s: %w", mentionID, err)
	}
	d := &fbv1.Decision{}
	if err := proto.Unmarshal([]byte(raw), d); err != nil {
		return nil, fmt.Errorf("decode decision of mention %s: %w", mentionID, err)
	}
	return d, nil
}

// timestampMillis is nil for 0, "never".
func timestampMillis(ms int64) *timestamppb.Timestamp {
	if ms <= 0 {
		return nil
	}
	return timestamppb.New(time.UnixMilli(ms))
}

// Outbox returns the events of a case's author saved but not yet marked
// sent: a replica may have died, or NATS failed, between save and publish.
func (s *Store) Outbox(ctx context.Context, caseID string) ([]*fbv1.CaseEvent, error) {
	tag, _, err := cases.ParseID(caseID)
	if err != nil {
		return nil, err
	}
	raw, err := s.r.HVals(ctx, Author{Tag: tag, s: s}.key("outbox")).Result()
	if err != nil {
		return nil, fmt.Errorf("read outbox of case %s: %w", caseID, err)
	}
	return decodeEvents(raw, "outbox", caseID)
}

// decodeEvents decodes the stored events of a case's timeline or outbox.
func decodeEvents(raw []string, where, caseID string) ([]*fbv1.CaseEvent, error) {
	out := make([]*fbv1.CaseEvent, 0, len(raw))
	for _, r := range raw {
		e := &fbv1.CaseEvent{}
		if err := proto.Unmarshal([]byte(r), e); err != nil {
			return nil, fmt.Errorf("decode %s of case %s: %w", where, caseID, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Sent removes published events from a case's outbox.
func (s *Store) Sent(ctx context.Context, caseID string, events ...*fbv1.CaseEvent) error {
	if len(events) == 0 {
		return nil
	}
	tag, _, err := cases.ParseID(caseID)
	if err != nil {
		return err
	}
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.Id
	}
	if err := s.r.HDel(ctx, Author{Tag: tag, s: s}.key("outbox"), ids...).Err(); err != nil {
		return fmt.Errorf("clear outbox of case %s: %w", caseID, err)
	}
	return nil
}
