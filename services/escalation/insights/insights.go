// Package insights keeps, in Redis, the few counts the console's insights
// and policy pages draw: mentions and complaints per brand and hour,
// escalating decisions by reach tier and route, times to first answer and
// first-response breaches by priority, and how the shadow policy's
// decisions compared, per day. Each count is a set of ids (a HyperLogLog,
// or a sorted set for times), never an increment, so a redelivered
// decision counts once; every key expires after Keep.
package insights

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/store"
)

// Keep is how long the counts are kept: the longest period the console
// asks for, and a day more.
const Keep = 15 * 24 * time.Hour

// MaxDays is the longest period Read reports.
const MaxDays = 14

// maxBrands bounds the brands one read reports.
const maxBrands = 50

// Tally writes and reads the counts.
type Tally struct {
	keys store.Keys
	// expiries spares the EXPIRE of a bucket written many times an hour.
	expiries store.Expiries
}

// New returns a Tally under keys.
func New(keys store.Keys) *Tally { return &Tally{keys: keys} }

// Keys of one series share a hash tag, so one PFCOUNT can count the union
// of its days or hours in Redis Cluster too.
func (t *Tally) key(series string, bucket string) string {
	return t.keys.Of(store.Tag("insights/"+series), bucket)
}

func hour(at time.Time) string { return at.UTC().Format("2006010215") }
func day(at time.Time) string  { return store.Day(at) }

func (t *Tally) brandsKey() string             { return t.keys.Global("insights", "brands") }
func (t *Tally) routesKey(at time.Time) string { return t.routesOn(day(at)) }
func (t *Tally) routesOn(day string) string    { return t.keys.Global("insights", "routes", day) }

func (t *Tally) add(ctx context.Context, pipe redis.Pipeliner, key, member string) {
	pipe.PFAdd(ctx, key, member)
	t.expire(ctx, pipe, key)
}

// expire gives key its expiry, unless this process did within the hour:
// Keep is days, so the key still outlives its last write by Keep, less an
// hour at most.
func (t *Tally) expire(ctx context.Context, pipe redis.Pipeliner, key string) {
	if t.expiries.Due(key, time.Now()) {
		pipe.Expire(ctx, key, Keep)
	}
}

// Forget is called when a round trip that carried counts failed: their
// keys' expiries are sent again with the retry (see store.Expiries).
func (t *Tally) Forget() { t.expiries.Forget() }

// Decision adds a decided mention to the counts, in the caller's pipeline.
// It is counted in the hour and day it was posted, so a redelivery lands
// in the same buckets.
func (t *Tally) Decision(ctx context.Context, pipe redis.Pipeliner, d *fbv1.Decision, shadowComparison string) {
	m := d.GetMention()
	if m == nil || d.MentionId == "" {
		return
	}
	at := m.GetCreatedAt().AsTime()
	// Each key and bucket is named once: the series share them.
	if !m.BrandReply {
		brands, inHour := t.brandsKey(), hour(at)
		pipe.SAdd(ctx, brands, d.Brand)
		t.expire(ctx, pipe, brands)
		t.add(ctx, pipe, t.key("mentions/"+d.Brand, inHour), d.MentionId)
		if d.Complaint {
			t.add(ctx, pipe, t.key("complaints/"+d.Brand, inHour), d.MentionId)
		}
	}
	shadow := d.Shadow != nil && shadowComparison != ""
	if !d.Escalate && !shadow {
		return
	}
	onDay := day(at)
	if d.Escalate {
		tier := d.GetReach().GetTier().String()
		label := tier + "|" + d.Route
		routes := t.routesOn(onDay)
		pipe.SAdd(ctx, routes, label)
		t.expire(ctx, pipe, routes)
		t.add(ctx, pipe, t.key("escalations/"+label, onDay), d.MentionId)
		t.add(ctx, pipe, t.key("authors/"+label, onDay), d.AuthorKey)
		t.add(ctx, pipe, t.key("authors/"+tier, onDay), d.AuthorKey)
	}
	if shadow {
		t.add(ctx, pipe, t.key("shadow/"+d.Shadow.PolicyVersion+"/"+shadowComparison, onDay), d.MentionId)
	}
}

// Answer records how long case c waited for its first answer, which came
// at answeredAt, in the caller's pipeline.
func (t *Tally) Answer(ctx context.Context, pipe redis.Pipeliner, c *fbv1.Case, answeredAt time.Time) {
	if c == nil || c.OpenedAt == nil {
		return
	}
	took := max(answeredAt.Sub(c.OpenedAt.AsTime()), 0)
	key := t.key("answers/"+c.Priority.String(), day(answeredAt))
	pipe.ZAdd(ctx, key, redis.Z{Score: took.Seconds(), Member: c.Id})
	t.expire(ctx, pipe, key)
}

// Breach records that case c passed its first-response target unanswered.
func (t *Tally) Breach(ctx context.Context, r redis.Cmdable, c *fbv1.Case, at time.Time) error {
	pipe := r.Pipeline()
	t.add(ctx, pipe, t.key("breaches/"+c.Priority.String(), day(at)), c.Id)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("count the first-response breach of case %s: %w", c.Id, err)
	}
	return nil
}

// Period is the days a read covers: the last n UTC days, today included.
type Period struct {
	days []time.Time // each day's midnight, oldest first
	now  time.Time
}

// Days returns the period of the last n days before now (n within 1 to
// MaxDays; 0 means 7).
func Days(now time.Time, n int) (Period, error) {
	if n == 0 {
		n = 7
	}
	if n < 1 || n > MaxDays {
		return Period{}, fmt.Errorf("days must be 1 to %d, not %d", MaxDays, n)
	}
	today := now.UTC().Truncate(24 * time.Hour)
	p := Period{now: now}
	for i := n - 1; i >= 0; i-- {
		p.days = append(p.days, today.AddDate(0, 0, -i))
	}
	return p, nil
}

// BucketHours is how many hours a point of a series covers: about a day's
// worth of points whatever the period.
func (p Period) BucketHours() int {
	switch n := len(p.days); {
	case n == 1:
		return 1
	case n <= 3:
		return 3
	case n <= 7:
		return 6
	}
	return 12
}

// buckets are the series' buckets, each the hours it covers.
func (p Period) buckets() [][]string {
	step := time.Duration(p.BucketHours()) * time.Hour
	end := p.now.UTC().Truncate(time.Hour)
	var out [][]string
	for from := p.days[0]; !from.After(end); from = from.Add(step) {
		var hours []string
		for h := from; h.Before(from.Add(step)) && !h.After(end); h = h.Add(time.Hour) {
			hours = append(hours, hour(h))
		}
		out = append(out, hours)
	}
	return out
}

func (p Period) dayNames() []string { return store.LastDays(p.now, len(p.days)) }

// From is the start of the period.
func (p Period) From() time.Time { return p.days[0] }

// Targets give the first-response target of a priority, zero if none.
type Targets func(fbv1.Priority) time.Duration

// Read gathers the counts of period p in two round trips.
func (t *Tally) Read(ctx context.Context, r redis.Cmdable, p Period, targets Targets) (*fbv1.GetInsightsResponse, error) {
	// First what there is to count: the brands and the tier|route labels.
	pipe := r.Pipeline()
	brandsCmd := pipe.SMembers(ctx, t.brandsKey())
	var labelCmds []*redis.StringSliceCmd
	for _, d := range p.days {
		labelCmds = append(labelCmds, pipe.SMembers(ctx, t.routesKey(d)))
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("read the insights' brands and routes: %w", err)
	}
	brands := brandsCmd.Val()
	slices.Sort(brands)
	brands = brands[:min(len(brands), maxBrands)]
	labels := map[string]bool{}
	for _, c := range labelCmds {
		for _, l := range c.Val() {
			labels[l] = true
		}
	}

	// Then every count at once.
	days := p.dayNames()
	buckets := p.buckets()
	pipe = r.Pipeline()
	count := func(series string, buckets []string) *redis.IntCmd {
		keys := make([]string, len(buckets))
		for i, b := range buckets {
			keys[i] = t.key(series, b)
		}
		return pipe.PFCount(ctx, keys...)
	}
	type brandCmds struct{ mentions, complaints []*redis.IntCmd }
	perBrand := make([]brandCmds, len(brands))
	for i, b := range brands {
		for _, hours := range buckets {
			perBrand[i].mentions = append(perBrand[i].mentions, count("mentions/"+b, hours))
			perBrand[i].complaints = append(perBrand[i].complaints, count("complaints/"+b, hours))
		}
	}
	var routes []routeCmds
	tierAuthors := map[string]*redis.IntCmd{}
	for l := range labels {
		tier, route, _ := strings.Cut(l, "|")
		routes = append(routes, routeCmds{tier: tier, route: route, mentions: count("escalations/"+l, days), authors: count("authors/"+l, days)})
		if tierAuthors[tier] == nil {
			tierAuthors[tier] = count("authors/"+tier, days)
		}
	}
	priorities := []fbv1.Priority{fbv1.Priority_PRIORITY_CRITICAL, fbv1.Priority_PRIORITY_HIGH, fbv1.Priority_PRIORITY_NORMAL, fbv1.Priority_PRIORITY_LOW}
	answers := make([][]*redis.ZSliceCmd, len(priorities))
	breaches := make([]*redis.IntCmd, len(priorities))
	for i, pr := range priorities {
		for _, d := range days {
			answers[i] = append(answers[i], pipe.ZRangeWithScores(ctx, t.key("answers/"+pr.String(), d), 0, -1))
		}
		breaches[i] = count("breaches/"+pr.String(), days)
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("read the insights' counts: %w", err)
	}

	out := &fbv1.GetInsightsResponse{From: timestamppb.New(p.From()), BucketHours: int32(p.BucketHours())}
	for i, b := range brands {
		a := &fbv1.BrandActivity{Brand: b}
		for j := range buckets {
			a.Mentions = append(a.Mentions, perBrand[i].mentions[j].Val())
			a.Complaints = append(a.Complaints, perBrand[i].complaints[j].Val())
		}
		out.Brands = append(out.Brands, a)
	}
	out.Tiers = tiers(routes, tierAuthors)
	for i, pr := range priorities {
		var secs []float64
		for _, c := range answers[i] {
			for _, z := range c.Val() {
				secs = append(secs, z.Score)
			}
		}
		fa := &fbv1.FirstAnswers{Priority: pr, Answered: int64(len(secs)), Breached: breaches[i].Val()}
		if len(secs) > 0 {
			slices.Sort(secs)
			fa.P50, fa.P90 = seconds(Quantile(secs, 0.5)), seconds(Quantile(secs, 0.9))
		}
		if d := targets(pr); d > 0 {
			fa.Target = durationpb.New(d)
		}
		if fa.Answered > 0 || fa.Breached > 0 || fa.Target != nil {
			out.FirstAnswers = append(out.FirstAnswers, fa)
		}
	}
	return out, nil
}

// routeCmds are the pending counts of one tier and route.
type routeCmds struct {
	tier, route       string
	mentions, authors *redis.IntCmd
}

// tiers folds the per-route counts into one entry per tier, every tier
// listed even when it has none, from the widest reach down.
func tiers(routes []routeCmds, authors map[string]*redis.IntCmd) []*fbv1.TierEscalations {
	byTier := map[string]*fbv1.TierEscalations{}
	var out []*fbv1.TierEscalations
	for _, tier := range []fbv1.Tier{fbv1.Tier_TIER_RIVAL, fbv1.Tier_TIER_HIGH, fbv1.Tier_TIER_MEDIUM, fbv1.Tier_TIER_LOW, fbv1.Tier_TIER_UNSPECIFIED} {
		te := &fbv1.TierEscalations{Tier: tier}
		if c := authors[tier.String()]; c != nil {
			te.Authors = c.Val()
		}
		byTier[tier.String()] = te
		out = append(out, te)
	}
	for _, r := range routes {
		te := byTier[r.tier]
		if te == nil {
			continue
		}
		n := r.mentions.Val()
		te.Mentions += n
		te.Routes = append(te.Routes, &fbv1.RouteCount{Route: r.route, Mentions: n, Authors: r.authors.Val()})
	}
	for _, te := range out {
		slices.SortFunc(te.Routes, func(a, b *fbv1.RouteCount) int {
			if a.Mentions != b.Mentions {
				return int(b.Mentions - a.Mentions)
			}
			return strings.Compare(a.Route, b.Route)
		})
	}
	return out
}

// Quantile is the q-quantile of sorted values, interpolated between the
// nearest ranks.
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	lo := int(pos)
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (sorted[lo+1]-sorted[lo])*(pos-float64(lo))
}

func seconds(s float64) *durationpb.Duration {
	return durationpb.New(time.Duration(s * float64(time.Second)).Round(time.Second))
}

// ShadowComparisons counts how the shadow policy version's decisions
// compared with the live ones over period p, one count per label.
func (t *Tally) ShadowComparisons(ctx context.Context, r redis.Cmdable, version string, labels []string, p Period) ([]*fbv1.ShadowComparison, error) {
	pipe := r.Pipeline()
	cmds := make([]*redis.IntCmd, len(labels))
	days := p.dayNames()
	for i, l := range labels {
		keys := make([]string, len(days))
		for j, d := range days {
			keys[j] = t.key("shadow/"+version+"/"+l, d)
		}
		cmds[i] = pipe.PFCount(ctx, keys...)
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("read the shadow policy's comparisons: %w", err)
	}
	out := make([]*fbv1.ShadowComparison, len(labels))
	for i, l := range labels {
		out[i] = &fbv1.ShadowComparison{Comparison: l, Mentions: cmds[i].Val()}
	}
	return out, nil
}
