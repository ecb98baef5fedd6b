package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
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

// putCase stores a case and indexes it as Commit and Save do.
func putCase(t *testing.T, s *Store, id, team string, updatedMs int64) {
	t.Helper()
	tag, n, err := cases.ParseID(id)
	if err != nil {
		t.Fatal(err)
	}
	c := &fbv1.Case{Id: id, Team: team, UpdatedAt: timestamppb.New(time.UnixMilli(updatedMs))}
	b, _ := proto.Marshal(c)
	ctx := context.Background()
	if err := s.r.Set(ctx, Author{Tag: tag, s: s}.key("cases", strconv.FormatInt(n, 10)), b, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.r.ZAdd(ctx, s.casesKey(id), redis.Z{Score: float64(updatedMs), Member: id}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.reindex(ctx, c, 1); err != nil {
		t.Fatal(err)
	}
}

func TestListMergesTheShardsNewestFirstAcrossPages(t *testing.T) {
	client, keys := storetest.New(t)
	s := New(client, keys, time.Hour, time.Hour)
	var want []string
	for i := range 60 {
		id := cases.ID(store.Tag(fmt.Sprint("author-", i)), 1)
		// Every third case shares its update time with another, so ties
		// must be ordered and paged past too.
		putCase(t, s, id, []string{"senior", "standard"}[i%2], int64(1_000+i/3))
		if i%2 == 0 {
			want = append(want, id)
		}
	}
	// Newest first, ties by id descending.
	slices.SortFunc(want, func(a, b string) int {
		sa, _ := client.ZScore(context.Background(), s.casesKey(a), a).Result()
		sb, _ := client.ZScore(context.Background(), s.casesKey(b), b).Result()
		if sa != sb {
			return int(sb - sa)
		}
		if a > b {
			return -1
		}
		return 1
	})
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatalf("still paging after %d pages: %v", pages, got)
		}
		list, next, err := s.List(context.Background(), Filter{Team: "senior"}, cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			got = append(got, c.Id)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listed\n%v\nwant\n%v", got, want)
	}
	if _, _, err := s.List(context.Background(), Filter{}, "12", 7); err != ErrBadCursor {
		t.Errorf("an old offset token: %v, want ErrBadCursor", err)
	}
}

func TestAnOlderReleasesIndexesMoveIntoTheirShards(t *testing.T) {
	client, keys := storetest.New(t)
	s := New(client, keys, time.Hour, time.Hour)
	ctx := context.Background()
	now := time.Now()
	caseID := cases.ID(store.Tag("old-author"), 1)
	putCase(t, s, caseID, "senior", now.UnixMilli())
	client.Del(ctx, s.casesKey(caseID))
	past := float64(now.Add(-time.Minute).UnixMilli())
	client.ZAdd(ctx, keys.Global("cases"), redis.Z{Score: float64(now.UnixMilli()), Member: caseID})
	client.ZAdd(ctx, keys.Global("timers"), redis.Z{Score: past, Member: caseID})
	client.ZAdd(ctx, keys.Global("joins"), redis.Z{Score: past, Member: store.Tag("old-author") + "|x:9"})

	moved, err := s.MigrateIndexes(ctx)
	if err != nil || moved != 3 {
		t.Fatalf("moved %d entries (%v), want 3", moved, err)
	}
	for _, old := range []string{"cases", "timers", "joins"} {
		if n := client.Exists(ctx, keys.Global(old)).Val(); n != 0 {
			t.Errorf("old index %s still exists", old)
		}
	}
	if ids, err := s.ClaimDue(ctx, now, time.Minute, 10); err != nil || !slices.Equal(ids, []string{caseID}) {
		t.Errorf("due timers %v (%v), want the old case's", ids, err)
	}
	if joins, err := s.ClaimDueJoins(ctx, now, time.Minute, 10); err != nil || len(joins) != 1 || joins[0][1] != "x:9" {
		t.Errorf("due joins %v (%v), want x:9", joins, err)
	}
	if list, _, err := s.List(ctx, Filter{}, "", 10); err != nil || len(list) != 1 || list[0].Id != caseID {
		t.Errorf("listed %v (%v), want the old case", list, err)
	}
}

// TestARefusedSaveLeavesTheIndexesAsTheCaseIs: a save's reindex runs in its
// pipeline whether or not the save stands, so a refused save may record its
// values under the version another save wrote before that save records its
// own. The refused save then records what is stored, so the next change
// moves the case out of the right index.
func TestARefusedSaveLeavesTheIndexesAsTheCaseIs(t *testing.T) {
	client, keys := storetest.New(t)
	s := New(client, keys, time.Hour, time.Hour)
	ctx := context.Background()
	tag := store.Tag("racing-author")
	id := cases.ID(tag, 1)
	at := time.UnixMilli(1_700_000_000_000)
	withTeam := func(team string, ms int) *fbv1.Case {
		return &fbv1.Case{Id: id, Team: team, State: fbv1.CaseState_CASE_STATE_OPEN, UpdatedAt: timestamppb.New(at.Add(time.Duration(ms) * time.Millisecond))}
	}
	a := s.AuthorByTag(tag)
	client.HSet(ctx, a.key("case"), "n", 1, "ver", 1)
	b, _ := proto.Marshal(withTeam("first", 0))
	client.Set(ctx, a.key("cases", "1"), b, time.Hour)
	if err := s.reindex(ctx, withTeam("first", 0), 1); err != nil {
		t.Fatal(err)
	}
	read, err := s.Case(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// The loser's reindex lands first, under the version the winner writes.
	if err := s.reindex(ctx, withTeam("loser", 2), 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, read, withTeam("winner", 1), &fbv1.CaseEvent{Id: "won"}, time.Time{}); err != nil {
		t.Fatalf("winner's save: %v", err)
	}
	if err := s.Save(ctx, read, withTeam("loser", 2), &fbv1.CaseEvent{Id: "lost"}, time.Time{}); !errors.Is(err, ErrConflict) {
		t.Fatalf("loser's save: %v, want a conflict", err)
	}
	read, err = s.Case(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, read, withTeam("next", 3), &fbv1.CaseEvent{Id: "next"}, time.Time{}); err != nil {
		t.Fatalf("next save: %v", err)
	}
	shard := shardTag(id)
	if err := client.ZScore(ctx, s.fieldIndexKey(shard, "team", "winner"), id).Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("the case stayed in the index of the team it left (%v)", err)
	}
	if err := client.ZScore(ctx, s.fieldIndexKey(shard, "team", "next"), id).Err(); err != nil {
		t.Errorf("the case is missing from its team's index: %v", err)
	}
	if list, _, err := s.List(ctx, Filter{Team: "next"}, "", 10); err != nil || len(list) != 1 {
		t.Errorf("listed %v (%v), want the case", list, err)
	}
}
