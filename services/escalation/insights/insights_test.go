package insights_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/insights"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

var now = time.Date(2026, 11, 30, 15, 30, 0, 0, time.UTC)

func decision(id, brand, author string, at time.Time, complaint, escalate bool, tier fbv1.Tier, route string) *fbv1.Decision {
	return &fbv1.Decision{MentionId: id, Brand: brand, AuthorKey: author, Complaint: complaint, Escalate: escalate, Route: route,
		Reach:   &fbv1.Reach{Tier: tier},
		Mention: &fbv1.Mention{Id: id, Brand: brand, CreatedAt: timestamppb.New(at)}}
}

func TestCountsAreByIdSoRedeliveriesCountOnceAndQuietRepeatComplainersShowUp(t *testing.T) {
	r, keys := storetest.New(t)
	tally := insights.New(keys)
	ctx := context.Background()
	record := func(d *fbv1.Decision, comparison string) {
		pipe := r.Pipeline()
		tally.Decision(ctx, pipe, d, comparison)
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The famous author, once, an hour ago; the quiet one three times
	// today (the third escalates); a happy mention; a brand reply.
	famous := decision("x:1", "acme", "dan", now.Add(-time.Hour), true, true, fbv1.Tier_TIER_RIVAL, "rival-reach")
	for range 3 { // delivered three times, counted once
		record(famous, "same")
	}
	for i := 1; i <= 3; i++ {
		record(decision(fmt.Sprintf("x:q%d", i), "acme", "quiet", now.Add(-time.Duration(i)*time.Minute), true, i == 3, fbv1.Tier_TIER_LOW, "repeat"), "")
	}
	record(decision("x:happy", "acme", "ann", now.Add(-2*time.Hour), false, false, fbv1.Tier_TIER_HIGH, ""), "")
	record(decision("x:other", "globex", "eve", now.Add(-26*time.Hour), true, false, fbv1.Tier_TIER_MEDIUM, ""), "would_open")
	reply := decision("x:reply", "acme", "acme", now, false, false, fbv1.Tier_TIER_RIVAL, "")
	reply.Mention.BrandReply = true
	record(reply, "")

	// Two answered cases and one breach.
	pipe := r.Pipeline()
	for i, took := range []time.Duration{4 * time.Minute, 20 * time.Minute} {
		c := &fbv1.Case{Id: fmt.Sprintf("c-%d", i), Priority: fbv1.Priority_PRIORITY_CRITICAL, OpenedAt: timestamppb.New(now.Add(-time.Hour))}
		tally.Answer(ctx, pipe, c, now.Add(-time.Hour+took))
		tally.Answer(ctx, pipe, c, now.Add(-time.Hour+took)) // again: still one answer
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tally.Breach(ctx, r, &fbv1.Case{Id: "c-9", Priority: fbv1.Priority_PRIORITY_HIGH}, now); err != nil {
		t.Fatal(err)
	}

	p, err := insights.Days(now, 2)
	if err != nil {
		t.Fatal(err)
	}
	targets := func(pr fbv1.Priority) time.Duration {
		if pr == fbv1.Priority_PRIORITY_CRITICAL {
			return 15 * time.Minute
		}
		return 0
	}
	got, err := tally.Read(ctx, r, p, targets)
	if err != nil {
		t.Fatal(err)
	}
	if got.BucketHours != 3 || !got.From.AsTime().Equal(time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("series from %v every %dh, want from 2026-11-29 every 3h", got.From.AsTime(), got.BucketHours)
	}
	sums := map[string][2]int64{}
	for _, b := range got.Brands {
		var m, c int64
		for i := range b.Mentions {
			m, c = m+b.Mentions[i], c+b.Complaints[i]
		}
		sums[b.Brand] = [2]int64{m, c}
		if len(b.Mentions) != 14 { // 00:00 yesterday to the bucket of 15:00 today (15:00 and on), by 3 hours
			t.Errorf("%s has %d points, want 14", b.Brand, len(b.Mentions))
		}
	}
	if sums["acme"] != [2]int64{5, 4} || sums["globex"] != [2]int64{1, 1} {
		t.Errorf("mentions and complaints per brand = %v, want acme 5 and 4 (the reply left out), globex 1 and 1", sums)
	}
	tiers := map[fbv1.Tier]*fbv1.TierEscalations{}
	for _, te := range got.Tiers {
		tiers[te.Tier] = te
	}
	if rv := tiers[fbv1.Tier_TIER_RIVAL]; rv.Mentions != 1 || rv.Authors != 1 || rv.Routes[0].Route != "rival-reach" {
		t.Errorf("rival tier: %v", rv)
	}
	if low := tiers[fbv1.Tier_TIER_LOW]; low.Mentions != 1 || low.Authors != 1 || len(low.Routes) != 1 || low.Routes[0].Route != "repeat" {
		t.Errorf("the quiet repeat complainer is missing from the low tier: %v", low)
	}
	if len(got.FirstAnswers) != 2 {
		t.Fatalf("first answers %v, want critical and high", got.FirstAnswers)
	}
	crit, high := got.FirstAnswers[0], got.FirstAnswers[1]
	if crit.Answered != 2 || crit.P50.AsDuration() != 12*time.Minute || crit.P90.AsDuration() != 18*time.Minute+24*time.Second ||
		crit.Target.AsDuration() != 15*time.Minute {
		t.Errorf("critical first answers %v, want 2 answered, p50 12m, p90 18m24s, target 15m", crit)
	}
	if high.Breached != 1 || high.Answered != 0 || high.Target != nil {
		t.Errorf("high first answers %v, want one breach", high)
	}

	cmp, err := tally.ShadowComparisons(ctx, r, "", []string{"same", "would_open"}, p)
	if err != nil {
		t.Fatal(err)
	}
	// Decisions carry no shadow here, so nothing is compared.
	if cmp[0].Mentions != 0 || cmp[1].Mentions != 0 {
		t.Errorf("comparisons without a shadow: %v", cmp)
	}
}

func TestShadowComparisonsAreCountedPerShadowVersion(t *testing.T) {
	r, keys := storetest.New(t)
	tally := insights.New(keys)
	ctx := context.Background()
	for i, label := range []string{"same", "same", "would_raise"} {
		d := decision(fmt.Sprintf("x:%d", i), "acme", "a", now, true, false, fbv1.Tier_TIER_LOW, "")
		d.Shadow = &fbv1.Decision{PolicyVersion: "v2"}
		pipe := r.Pipeline()
		tally.Decision(ctx, pipe, d, label)
		tally.Decision(ctx, pipe, d, label)
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := insights.Days(now, 7)
	for version, want := range map[string][2]int64{"v2": {2, 1}, "v3": {0, 0}} {
		got, err := tally.ShadowComparisons(ctx, r, version, []string{"same", "would_raise"}, p)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Mentions != want[0] || got[1].Mentions != want[1] {
			t.Errorf("shadow %s: %v, want same %d, would_raise %d", version, got, want[0], want[1])
		}
	}
}

func TestPeriodsAreBoundedAndQuantilesInterpolate(t *testing.T) {
	for _, n := range []int{-1, 15, 100} {
		if _, err := insights.Days(now, n); err == nil {
			t.Errorf("Days(%d) accepted", n)
		}
	}
	for _, tc := range []struct {
		values []float64
		q      float64
		want   float64
	}{{nil, 0.5, 0}, {[]float64{7}, 0.9, 7}, {[]float64{1, 2, 3, 4}, 0.5, 2.5}, {[]float64{10, 20}, 0.9, 19}} {
		if got := insights.Quantile(tc.values, tc.q); got != tc.want {
			t.Errorf("Quantile(%v, %v) = %v, want %v", tc.values, tc.q, got, tc.want)
		}
	}
}

// TestEveryCountExpires records decisions of every kind, each more than
// once (a count's EXPIRE is sent with its first write of the hour only),
// and finds every key the counts wrote expiring after Keep.
func TestEveryCountExpires(t *testing.T) {
	r, keys := storetest.New(t)
	tally := insights.New(keys)
	ctx := context.Background()
	for i := range 3 {
		pipe := r.Pipeline()
		d := decision(fmt.Sprintf("x:%d", i), "acme", fmt.Sprintf("a%d", i), now, true, true, fbv1.Tier_TIER_HIGH, "reach")
		d.Shadow = &fbv1.Decision{PolicyVersion: "v2"}
		tally.Decision(ctx, pipe, d, "same")
		tally.Answer(ctx, pipe, &fbv1.Case{Id: fmt.Sprintf("c-%d", i), Priority: fbv1.Priority_PRIORITY_HIGH, OpenedAt: timestamppb.New(now)}, now.Add(time.Minute))
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if err := tally.Breach(ctx, r, &fbv1.Case{Id: fmt.Sprintf("c-%d", i), Priority: fbv1.Priority_PRIORITY_HIGH}, now); err != nil {
			t.Fatal(err)
		}
	}
	found, err := r.Keys(ctx, keys.Prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 10 {
		t.Fatalf("the counts wrote %d keys, want one per count (10 or more): %v", len(found), found)
	}
	for _, k := range found {
		if ttl := r.PTTL(ctx, k).Val(); ttl <= insights.Keep-time.Hour || ttl > insights.Keep {
			t.Errorf("%s expires in %v, want in %v", k, ttl, insights.Keep)
		}
	}
}
