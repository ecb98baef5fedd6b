// Package store keeps escalation's state in Redis: the join of each
// mention's score and reach, each author's complaint window and unanswered
// streak, decisions, and cases with their timelines. Each author's keys share
// a hash tag, and each decision costs two round trips: join, then commit.
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	platformstore "github.com/firebreak/firebreak/services/platform/store"
)

// ErrConflict means the author's case changed between read and write.
var ErrConflict = errors.New("case changed concurrently")

// timelineCap bounds a case's stored timeline.
const timelineCap = 1000

// Store is escalation's Redis state.
type Store struct {
	r    redis.UniversalClient
	keys platformstore.Keys
	// TTL is how long a decision is kept to answer redeliveries and
	// explain calls.
	TTL time.Duration
}

// New returns a store over r with keys under keys.Prefix.
func New(r redis.UniversalClient, keys platformstore.Keys, ttl time.Duration) *Store {
	return &Store{r: r, keys: keys, TTL: ttl}
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
	return Author{Key: authorKey, Tag: platformstore.Tag(authorKey), s: s}
}

func (a Author) key(parts ...string) string { return a.s.keys.Of(a.Tag, parts...) }
func (a Author) prefix() string             { return a.s.keys.Of(a.Tag) + ":" }

// Part is one half of a mention's join.
type Part struct {
	Name string // "score" or "reach"
	Data []byte
	// Complaint and At come with the score part: whether the policy counts
	// the mention as a complaint, and when it was made.
	Complaint bool
	At        time.Time
}

// Joined is what Join found.
type Joined struct {
	// Decided holds the stored events of a mention decided before.
	Decided [][]byte
	// Ready is true when both parts are present and the mention is undecided.
	Ready   bool
	Score   *fbv1.Score
	Reach   *fbv1.Reach
	History *fbv1.History
	Current cases.Current
	version string
}

// Join stores a part of mention mentionID and returns what is known.
func (s *Store) Join(ctx context.Context, a Author, mentionID string, p Part, window time.Duration) (Joined, error) {
	complaint := "0"
	if p.Complaint {
		complaint = "1"
	}
	res, err := joinScript.Run(ctx, s.r,
		[]string{a.key("join", mentionID), a.key("window"), a.key("streak"), a.key("reply"), a.key("case")},
		p.Name, p.Data, complaint, p.At.UnixMilli(), window.Milliseconds(), s.TTL.Milliseconds(), mentionID, a.prefix(),
	).StringSlice()
	if err != nil {
		return Joined{}, fmt.Errorf("join %s of mention %s: %w", p.Name, mentionID, err)
	}
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
	case "waiting":
		return Joined{}, nil
	}
	return parseReady(res, window)
}

func parseReady(res []string, window time.Duration) (Joined, error) {
	out := Joined{Ready: true, Score: &fbv1.Score{}, Reach: &fbv1.Reach{}, version: res[5]}
	if err := proto.Unmarshal([]byte(res[1]), out.Score); err != nil {
		return Joined{}, fmt.Errorf("decode stored score: %w", err)
	}
	if err := proto.Unmarshal([]byte(res[2]), out.Reach); err != nil {
		return Joined{}, fmt.Errorf("decode stored reach: %w", err)
	}
	h, err := parseHistory(res[3], window)
	if err != nil {
		return Joined{}, err
	}
	out.History = h
	out.Current.N, _ = strconv.ParseInt(res[4], 10, 64)
	if res[6] != "" {
		out.Current.Case = &fbv1.Case{}
		if err := proto.Unmarshal([]byte(res[6]), out.Current.Case); err != nil {
			return Joined{}, fmt.Errorf("decode stored case: %w", err)
		}
	}
	return out, nil
}

func parseHistory(s string, window time.Duration) (*fbv1.History, error) {
	f := strings.Split(s, ":")
	if len(f) != 3 {
		return nil, fmt.Errorf("stored history %q is malformed", s)
	}
	count, err1 := strconv.Atoi(f[0])
	streak, err2 := strconv.Atoi(f[1])
	reply, err3 := strconv.ParseInt(f[2], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("stored history %q: %w", s, err)
	}
	h := &fbv1.History{ComplaintsInWindow: int32(count), UnansweredStreak: int32(streak), WindowSeconds: int64(window.Seconds())}
	if reply > 0 {
		h.LastBrandReplyAt = timestampMillis(reply)
	}
	return h, nil
}

// Commit stores a decision and, when the case changed, the case and its
// events, in the same round trip as the indexes. It returns ErrConflict if
// the author's case changed since Join read it.
// due, when not zero, is when the case's chain must next be looked at.
func (s *Store) Commit(ctx context.Context, a Author, j Joined, d *fbv1.Decision, c *fbv1.Case, events []*fbv1.CaseEvent, due time.Time) (already bool, err error) {
	dec, err := proto.Marshal(d)
	if err != nil {
		return false, fmt.Errorf("encode decision: %w", err)
	}
	args := []any{j.version, "", "", dec, s.TTL.Milliseconds(), a.prefix(), timelineCap}
	if c != nil {
		_, n, err := cases.ParseID(c.Id)
		if err != nil {
			return false, err
		}
		caseBytes, err := proto.Marshal(c)
		if err != nil {
			return false, fmt.Errorf("encode case %s: %w", c.Id, err)
		}
		args[1], args[2] = strconv.FormatInt(n, 10), caseBytes
	}
	for _, e := range events {
		b, err := proto.Marshal(e)
		if err != nil {
			return false, fmt.Errorf("encode event %s: %w", e.Id, err)
		}
		args = append(args, b)
	}
	// EVAL, not EVALSHA: a pipelined EVALSHA cannot fall back when the
	// server has lost its script cache (after a restart or failover).
	pipe := s.r.Pipeline()
	res := commitScript.Eval(ctx, pipe, []string{a.key("join", d.MentionId), a.key("case")}, args...)
	pipe.Set(ctx, s.keys.Global("mention", d.MentionId), a.Tag, s.TTL)
	if c != nil {
		pipe.ZAdd(ctx, s.keys.Global("cases"), redis.Z{Score: float64(c.UpdatedAt.AsTime().UnixMilli()), Member: c.Id})
		s.scheduleEarlier(ctx, pipe, c.Id, due)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("commit decision on mention %s: %w", d.MentionId, err)
	}
	switch res.Val() {
	case "ok":
		return false, nil
	case "already":
		return true, nil
	case "conflict":
		return false, ErrConflict
	}
	return false, fmt.Errorf("commit decision on mention %s: unexpected answer %v", d.MentionId, res.Val())
}

// BrandReply ends the author's unanswered streak.
func (s *Store) BrandReply(ctx context.Context, a Author, at time.Time, window time.Duration) error {
	ttl := max(2*window, s.TTL)
	if err := replyScript.Run(ctx, s.r, []string{a.key("streak"), a.key("reply")}, at.UnixMilli(), ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("record brand reply to %s: %w", a.Key, err)
	}
	return nil
}
