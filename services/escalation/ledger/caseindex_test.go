package ledger

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// commandCounter counts the commands match picks, sent alone or in
// pipelines.
type commandCounter struct {
	match func(redis.Cmder) bool
	n     atomic.Int64
}

func (h *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count(cmd)
		return next(ctx, cmd)
	}
}

func (h *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			h.count(cmd)
		}
		return next(ctx, cmds)
	}
}

func (h *commandCounter) count(cmd redis.Cmder) {
	if h.match(cmd) {
		h.n.Add(1)
	}
}

// readsCase picks the commands that read a stored case (GET of
// "...:cases:<n>").
func readsCase(cmd redis.Cmder) bool {
	return cmd.Name() == "get" && len(cmd.Args()) >= 2 && strings.Contains(fmt.Sprint(cmd.Args()[1]), ":cases:")
}

// putCases stores and indexes many cases at once, as Save would leave them.
func putCases(t testing.TB, s *Store, all []*fbv1.Case) {
	t.Helper()
	ctx := context.Background()
	for start := 0; start < len(all); start += 500 {
		pipe := s.r.Pipeline()
		for _, c := range all[start:min(start+500, len(all))] {
			tag, n, err := cases.ParseID(c.Id)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := proto.Marshal(c)
			pipe.Set(ctx, Author{Tag: tag, s: s}.key("cases", strconv.FormatInt(n, 10)), b, time.Hour)
			s.indexCase(ctx, pipe, c)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range all {
		if err := s.reindex(ctx, c, 1); err != nil {
			t.Fatal(err)
		}
	}
}

func manyCases(n int, at time.Time, shape func(i int, c *fbv1.Case)) []*fbv1.Case {
	out := make([]*fbv1.Case, n)
	for i := range out {
		out[i] = &fbv1.Case{Id: cases.ID(store.Tag(fmt.Sprint("author-", i)), 1), Brand: "acme", State: fbv1.CaseState_CASE_STATE_OPEN,
			UpdatedAt: timestamppb.New(at.Add(time.Duration(i) * time.Millisecond))}
		shape(i, out[i])
	}
	return out
}

func TestFilterMatchingNothingReadsNoCases(t *testing.T) {
	client, keys := storetest.New(t)
	s := New(client, keys, time.Hour, time.Hour)
	putCases(t, s, manyCases(300, time.Unix(1_700_000_000, 0), func(i int, c *fbv1.Case) {
		c.Team = []string{"senior", "standard"}[i%2]
		c.Assignee = "ana"
	}))
	reads := &commandCounter{match: readsCase}
	client.AddHook(reads)
	ctx := context.Background()
	for _, f := range []Filter{
		{Team: "nobody"},
		{Team: "senior", Assignee: "ben"},
		{Brand: "acme", State: fbv1.CaseState_CASE_STATE_RESOLVED},
		{Priority: fbv1.Priority_PRIORITY_CRITICAL},
	} {
		reads.n.Store(0)
		list, next, err := s.List(ctx, f, "", 50)
		if err != nil || len(list) != 0 || next != "" {
			t.Fatalf("filter %+v: %d cases, next %q, %v; want none", f, len(list), next, err)
		}
		if n := reads.n.Load(); n != 0 {
			t.Errorf("filter %+v matching nothing read %d cases, want none", f, n)
		}
	}
	reads.n.Store(0)
	list, _, err := s.List(ctx, Filter{Team: "senior", Assignee: "ana"}, "", 10)
	if err != nil || len(list) != 10 {
		t.Fatalf("listed %d (%v), want a page of 10", len(list), err)
	}
	if n := reads.n.Load(); n > 150 {
		t.Errorf("a page of 10 out of 150 matches read %d cases, want only the team's index", n)
	}
}

func TestBoundedListReturnsAPartialPageWithACursor(t *testing.T) {
	client, keys := storetest.New(t)
	s := New(client, keys, time.Hour, time.Hour)
	// Every index the filter names holds (nearly) every case, and all but
	// the one of another team match: more than one call's worth.
	n := maxExamined + 300
	putCases(t, s, manyCases(n, time.Unix(1_700_000_000, 0), func(i int, c *fbv1.Case) {
		c.Team, c.Assignee = "senior", "ana"
		if i == 0 {
			c.Team = "standard"
		}
	}))
	reads := &commandCounter{match: readsCase}
	client.AddHook(reads)
	f := Filter{Team: "senior", Assignee: "ana", State: fbv1.CaseState_CASE_STATE_OPEN}
	list, next, err := s.List(context.Background(), f, "", n)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != maxExamined || next == "" {
		t.Fatalf("first call: %d cases, next %q; want the %d examined and a cursor", len(list), next, maxExamined)
	}
	if got := reads.n.Load(); got > maxExamined {
		t.Fatalf("one call read %d cases, more than the bound %d", got, maxExamined)
	}
	rest, last, err := s.List(context.Background(), f, next, n)
	if err != nil || last != "" || len(list)+len(rest) != n-1 {
		t.Fatalf("second call: %d cases, next %q, %v; want the remaining %d", len(rest), last, err, n-1-len(list))
	}
	all := append(list, rest...)
	for i, c := range all {
		if c.Team != "senior" {
			t.Fatalf("listed case %s of team %s", c.Id, c.Team)
		}
		if i > 0 && !c.UpdatedAt.AsTime().Before(all[i-1].UpdatedAt.AsTime()) {
			t.Fatalf("case %d (%s) is not older than the one before it across the partial pages", i, c.Id)
		}
	}
}

// openCase makes an author's first case through the decision path, as the
// service does, and returns it as loaded for a change.
func openCase(t *testing.T, s *Store, author, team string, at time.Time) Loaded {
	t.Helper()
	ctx := context.Background()
	a := s.Author(author)
	id := "x:" + author
	m := &fbv1.Mention{Id: id, Brand: "acme", Author: &fbv1.Author{Id: author}, CreatedAt: timestamppb.New(at)}
	score, _ := proto.Marshal(&fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{Complaint: 1}})
	reach, _ := proto.Marshal(&fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{Followers: 1}})
	if _, err := s.Join(ctx, a, id, Part{Name: "score", Data: score, Complaint: true, At: at}, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	j, err := s.Join(ctx, a, id, Part{Name: "reach", Data: reach, At: at}, 24*time.Hour)
	if err != nil || !j.Ready {
		t.Fatalf("join: ready %v, %v", j.Ready, err)
	}
	c := &fbv1.Case{Id: cases.ID(a.Tag, 1), Brand: "acme", Team: team, State: fbv1.CaseState_CASE_STATE_OPEN,
		Priority: fbv1.Priority_PRIORITY_HIGH, UpdatedAt: timestamppb.New(at)}
	if _, err := s.Commit(ctx, a, j, &fbv1.Decision{MentionId: id}, c, []*fbv1.CaseEvent{{Id: id + ":opened"}}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	l, err := s.Case(ctx, c.Id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func listIDs(t *testing.T, s *Store, f Filter) []string {
	t.Helper()
	list, _, err := s.List(context.Background(), f, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.Id)
	}
	return ids
}

// indexed sums a field value's index over its shards.
func indexed(t *testing.T, s *Store, field, value string) int64 {
	t.Helper()
	var n int64
	for _, k := range s.fieldIndexKeys(field, value) {
		n += s.r.ZCard(context.Background(), k).Val()
	}
	return n
}

func checkCaseMovesIndexWhenItsTeamChanges(t *testing.T, client redis.UniversalClient, keys store.Keys) {
	s := New(client, keys, time.Hour, time.Hour)
	ctx := context.Background()
	at := time.Unix(1_700_000_000, 0)
	l := openCase(t, s, "acme/x/ana", "standard", at)
	other := openCase(t, s, "acme/x/ben", "standard", at.Add(time.Second))
	if got := listIDs(t, s, Filter{Team: "standard"}); !slices.Equal(got, []string{other.Case.Id, l.Case.Id}) {
		t.Fatalf("team standard lists %v, want both cases, newest first", got)
	}

	moved := proto.Clone(l.Case).(*fbv1.Case)
	moved.Team, moved.State, moved.Assignee = "senior", fbv1.CaseState_CASE_STATE_ACKNOWLEDGED, "Ben Okafor"
	moved.UpdatedAt = timestamppb.New(at.Add(2 * time.Second))
	if err := s.Save(ctx, l, moved, &fbv1.CaseEvent{Id: "e:moved"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := listIDs(t, s, Filter{Team: "standard"}); !slices.Equal(got, []string{other.Case.Id}) {
		t.Errorf("team standard lists %v after the move, want only %s", got, other.Case.Id)
	}
	if got := listIDs(t, s, Filter{Team: "senior", Assignee: "Ben Okafor"}); !slices.Equal(got, []string{l.Case.Id}) {
		t.Errorf("team senior lists %v, want the moved case", got)
	}
	if n := indexed(t, s, "team", "standard"); n != 1 {
		t.Errorf("the standard team's index holds %d cases, want the moved one gone from it", n)
	}
	if n := indexed(t, s, "state", enumValue(int32(fbv1.CaseState_CASE_STATE_OPEN))); n != 1 {
		t.Errorf("the open state's index holds %d cases, want the acknowledged one gone from it", n)
	}

	// A refused save (the case changed since it was read) moves nothing.
	stale := proto.Clone(moved).(*fbv1.Case)
	stale.Team = "vip"
	if err := s.Save(ctx, l, stale, &fbv1.CaseEvent{Id: "e:stale"}, time.Time{}); err == nil {
		t.Fatal("a save from a stale read was accepted")
	}
	if got := listIDs(t, s, Filter{Team: "senior"}); !slices.Equal(got, []string{l.Case.Id}) {
		t.Errorf("after a refused save team senior lists %v, want the case still there", got)
	}
	if got := listIDs(t, s, Filter{Team: "vip"}); len(got) != 0 {
		t.Errorf("a refused save listed %v under its team", got)
	}
}

func TestCaseMovesIndexWhenItsTeamChanges(t *testing.T) {
	client, keys := storetest.New(t)
	checkCaseMovesIndexWhenItsTeamChanges(t, client, keys)
}

func TestCaseIndexesWorkOnRedisCluster(t *testing.T) {
	client, keys := onCluster(t)
	checkCaseMovesIndexWhenItsTeamChanges(t, client, keys)

	s := New(client, keys, time.Hour, time.Hour)
	putCases(t, s, manyCases(40, time.Unix(1_700_000_000, 0), func(i int, c *fbv1.Case) { c.Team = "cluster" }))
	if got := listIDs(t, s, Filter{Team: "cluster"}); len(got) != 40 {
		t.Fatalf("listed %d of 40 cases spread over the Cluster's shards", len(got))
	}
	if n, err := s.IndexCaseFields(context.Background()); err != nil || n != 0 {
		t.Fatalf("IndexCaseFields on indexed cases: %d, %v; want nothing to do", n, err)
	}
}

func TestCasesOfAnOlderReleaseGetFieldIndexes(t *testing.T) {
	client, keys := storetest.New(t)
	s := New(client, keys, time.Hour, time.Hour)
	ctx := context.Background()
	all := manyCases(30, time.Unix(1_700_000_000, 0), func(i int, c *fbv1.Case) { c.Team = []string{"senior", "standard"}[i%3/2] })
	// As an older release left them: the case and its place in the index,
	// no field indexes.
	for _, c := range all {
		tag, n, _ := cases.ParseID(c.Id)
		b, _ := proto.Marshal(c)
		client.Set(ctx, Author{Tag: tag, s: s}.key("cases", strconv.FormatInt(n, 10)), b, time.Hour)
		client.ZAdd(ctx, s.casesKey(c.Id), redis.Z{Score: float64(c.UpdatedAt.AsTime().UnixMilli()), Member: c.Id})
	}
	if got := listIDs(t, s, Filter{Team: "senior"}); len(got) != 0 {
		t.Fatalf("unindexed cases listed by team: %v", got)
	}
	n, err := s.IndexCaseFields(ctx)
	if err != nil || n != len(all) {
		t.Fatalf("indexed %d cases (%v), want %d", n, err, len(all))
	}
	if got := listIDs(t, s, Filter{Team: "senior"}); len(got) != 20 {
		t.Fatalf("after the migration team senior lists %d cases, want 20", len(got))
	}
	if n, err := s.IndexCaseFields(ctx); err != nil || n != 0 {
		t.Fatalf("a second pass indexed %d (%v), want none", n, err)
	}
	// A case an older replica saved during the upgrade (its index entry
	// newer than its recorded fields) is indexed again.
	changed := proto.Clone(all[0]).(*fbv1.Case)
	changed.Team, changed.UpdatedAt = "vip", timestamppb.New(time.Unix(1_700_000_100, 0))
	tag, num, _ := cases.ParseID(changed.Id)
	b, _ := proto.Marshal(changed)
	client.Set(ctx, Author{Tag: tag, s: s}.key("cases", strconv.FormatInt(num, 10)), b, time.Hour)
	client.HSet(ctx, Author{Tag: tag, s: s}.key("case"), "ver", "7")
	client.ZAdd(ctx, s.casesKey(changed.Id), redis.Z{Score: float64(changed.UpdatedAt.AsTime().UnixMilli()), Member: changed.Id})
	if n, err := s.IndexCaseFields(ctx); err != nil || n != 1 {
		t.Fatalf("re-indexed %d (%v), want the one case saved by an older replica", n, err)
	}
	if got := listIDs(t, s, Filter{Team: "vip"}); !slices.Equal(got, []string{changed.Id}) {
		t.Fatalf("team vip lists %v, want %s", got, changed.Id)
	}
}

// BenchmarkListSelectiveFilter lists a page of one team's open cases out of
// 10,000, where the team has 1 case in 100.
func BenchmarkListSelectiveFilter(b *testing.B) {
	client, keys := storetest.New(b)
	s := New(client, keys, time.Hour, time.Hour)
	putCases(b, s, manyCases(10_000, time.Unix(1_700_000_000, 0), func(i int, c *fbv1.Case) {
		c.Team = "standard"
		if i%100 == 0 {
			c.Team = "vip"
		}
	}))
	f := Filter{Team: "vip", State: fbv1.CaseState_CASE_STATE_OPEN}
	b.ResetTimer()
	for b.Loop() {
		list, _, err := s.List(context.Background(), f, "", 50)
		if err != nil || len(list) != 50 {
			b.Fatalf("listed %d (%v)", len(list), err)
		}
	}
}
