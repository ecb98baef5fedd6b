package reach

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/wording"
	"github.com/firebreak/firebreak/services/reach/profile"
)

// Lookups configures the platform providers; every one is off until given
// its credentials, so the local run takes followers from the mention.
type Lookups struct {
	XURL, XTokenFile               string
	MastodonURL, MastodonTokenFile string
	BlueskyURL                     string
	Bluesky                        bool
	ProfileTTL, ProfileKeep        time.Duration
	Timeout                        time.Duration
	BrandAccounts                  string
	BrandRefresh                   time.Duration
	VelocityHigh                   float64
}

// Register declares the flags.
func (l *Lookups) Register(fs *flag.FlagSet) {
	fs.StringVar(&l.XURL, "x-api-url", "https://api.x.com", "X API base URL")
	fs.StringVar(&l.XTokenFile, "x-bearer-token-file", "", "file holding an X app bearer token; turns X lookups on")
	fs.StringVar(&l.MastodonURL, "mastodon-url", "", "Mastodon instance for account lookups, e.g. https://mastodon.social")
	fs.StringVar(&l.MastodonTokenFile, "mastodon-token-file", "", "file holding a Mastodon access token; with --mastodon-url turns lookups on")
	fs.StringVar(&l.BlueskyURL, "bluesky-api-url", "https://public.api.bsky.app", "Bluesky AppView base URL")
	fs.BoolVar(&l.Bluesky, "bluesky-lookups", false, "look Bluesky profiles up (the public AppView needs no token)")
	fs.DurationVar(&l.ProfileTTL, "profile-ttl", time.Hour, "how long a looked-up follower count is fresh")
	fs.DurationVar(&l.ProfileKeep, "profile-keep", 7*24*time.Hour, "how long a stale count is kept to serve while refreshing")
	fs.DurationVar(&l.Timeout, "lookup-timeout", 2*time.Second, "bound on a profile lookup on the hot path")
	fs.StringVar(&l.BrandAccounts, "brand-accounts", "", "brands' own accounts to refresh, e.g. acme:x=2244994945,acme:mastodon=7,acme:bluesky=did:plc:abc")
	fs.DurationVar(&l.BrandRefresh, "brand-refresh", 15*time.Minute, "how often the brands' own follower counts are refreshed")
	fs.Float64Var(&l.VelocityHigh, "velocity-high", 10, "reposts and likes per minute that mark a post as spreading")
}

// Validate reports what is wrong into p.
func (l *Lookups) Validate(p *config.Problems) {
	p.Check(l.ProfileTTL > 0 && l.ProfileKeep >= l.ProfileTTL, "profile-keep", "must be at least --profile-ttl, both positive")
	p.Check(l.Timeout > 0, "lookup-timeout", "must be positive, e.g. 2s")
	p.Check(l.BrandRefresh > 0, "brand-refresh", "must be positive, e.g. 15m")
	p.Check(l.VelocityHigh > 0, "velocity-high", "must be positive")
	p.Check((l.MastodonURL == "") == (l.MastodonTokenFile == ""), "mastodon-token-file", "and --mastodon-url go together")
	_, err := parseBrandAccounts(l.BrandAccounts)
	p.Check(err == nil, "brand-accounts", fmt.Sprint(err))
}

type brandAccount struct {
	brand    string
	platform fbv1.Platform
	id       string
}

func parseBrandAccounts(s string) ([]brandAccount, error) {
	var out []brandAccount
	for _, pair := range strings.Split(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		key, id, ok := strings.Cut(pair, "=")
		brand, plat, ok2 := strings.Cut(key, ":")
		p, known := map[string]fbv1.Platform{"x": fbv1.Platform_PLATFORM_X, "mastodon": fbv1.Platform_PLATFORM_MASTODON, "bluesky": fbv1.Platform_PLATFORM_BLUESKY}[plat]
		if !ok || !ok2 || !known || brand == "" || id == "" {
			return nil, fmt.Errorf("%q is not brand:platform=account-id (platform x, mastodon or bluesky)", pair)
		}
		out = append(out, brandAccount{brand, p, id})
	}
	return out, nil
}

// resolved is what the resolver knows of a mention's author and brand.
type resolved struct {
	followers      int64
	verified       bool
	source         string
	brandFollowers int64
	velocity       float64
	// reshares is the post's reposts and quotes in the last hour.
	reshares int64
	notes    []string
}

// resolver finds follower counts: fresh cache, else the platform (stale
// cache served meanwhile), else the mention. It is a lifecycle part: it
// refreshes the brands' own counts in the background.
type resolver struct {
	l         Lookups
	redis     redis.UniversalClient
	keys      store.Keys
	providers map[fbv1.Platform]*profile.Batcher
	brands    []brandAccount
	fallback  map[string]int64 // --brand-followers
	log       *slog.Logger
	clock     clock.Clock
	sf        singleflight.Group
	// waiting counts the mentions waiting on a platform lookup, their own
	// or one they joined.
	waiting atomic.Int64

	refreshing chan struct{} // bounds background refreshes
	wg         sync.WaitGroup
	cancel     context.CancelFunc
}

func newResolver(l Lookups, fallback map[string]int64, r redis.UniversalClient, keys store.Keys, log *slog.Logger) (*resolver, error) {
	res := &resolver{l: l, redis: r, keys: keys, fallback: fallback, log: log, clock: clock.System{},
		providers: map[fbv1.Platform]*profile.Batcher{}, refreshing: make(chan struct{}, 16)}
	client := &http.Client{Timeout: 10 * time.Second}
	if l.XTokenFile != "" {
		tok, err := config.ReadSecret(l.XTokenFile)
		if err != nil {
			return nil, err
		}
		res.providers[fbv1.Platform_PLATFORM_X] = &profile.Batcher{Provider: profile.NewX(l.XURL, tok, client), Window: 20 * time.Millisecond}
	}
	if l.MastodonTokenFile != "" {
		tok, err := config.ReadSecret(l.MastodonTokenFile)
		if err != nil {
			return nil, err
		}
		res.providers[fbv1.Platform_PLATFORM_MASTODON] = &profile.Batcher{Provider: profile.NewMastodon(l.MastodonURL, tok, client)}
	}
	if l.Bluesky {
		res.providers[fbv1.Platform_PLATFORM_BLUESKY] = &profile.Batcher{Provider: profile.NewBluesky(l.BlueskyURL, client)}
	}
	var err error
	res.brands, err = parseBrandAccounts(l.BrandAccounts)
	return res, err
}

func (r *resolver) authorKey(p fbv1.Platform, id string) string {
	return r.keys.Of(store.Tag("author:"+p.String()+":"+id), "profile")
}

func (r *resolver) brandKey(brand string, p fbv1.Platform) string {
	return r.keys.Global("brand", brand, p.String(), "profile")
}

// resolve is resolveAll for one mention.
func (r *resolver) resolve(ctx context.Context, m *fbv1.Mention) (resolved, error) {
	out, errs := r.resolveAll(ctx, []*fbv1.Mention{m})
	return out[0], errs[0]
}

// reads are one mention's queued Redis reads: the author's profile, the
// brand's, and the post's velocity and spread when it carries metrics.
type reads struct {
	author, brand *redis.MapStringStringCmd
	vel, spread   *redis.Cmd
}

func (r *resolver) queue(ctx context.Context, pipe redis.Pipeliner, m *fbv1.Mention) reads {
	rd := reads{
		author: pipe.HGetAll(ctx, r.authorKey(m.Platform, m.GetAuthor().GetId())),
		brand:  pipe.HGetAll(ctx, r.brandKey(m.Brand, m.Platform)),
	}
	if m.Metrics != nil {
		rd.vel, rd.spread = r.velocityCmd(ctx, pipe, m), r.spreadCmd(ctx, pipe, m)
	}
	return rd
}

// failed is the first error among rd's commands; redis.Nil is none.
func (rd reads) failed() error {
	cmds := []redis.Cmder{rd.author, rd.brand}
	if rd.vel != nil {
		cmds = append(cmds, rd.vel, rd.spread)
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
	}
	return nil
}

// cacheWrite is a follower count learned while resolving, to cache.
type cacheWrite struct {
	key string
	p   profile.Profile
}

// resolveAll resolves a batch of mentions with one Redis round trip for
// all their reads (a pipeline of each one's author profile, brand profile
// and post velocity) and one for the counts they taught, whatever the
// batch's size. Mentions waiting on a platform lookup wait side by side.
// Each mention gets its own result or error.
func (r *resolver) resolveAll(ctx context.Context, ms []*fbv1.Mention) ([]resolved, []error) {
	out, errs := make([]resolved, len(ms)), make([]error, len(ms))
	pipe := r.redis.Pipeline()
	rds := make([]reads, len(ms))
	for i, m := range ms {
		rds[i] = r.queue(ctx, pipe, m)
	}
	_, _ = pipe.Exec(ctx) // each mention's commands carry their own errors
	writes := make([]*cacheWrite, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		if err := rds[i].failed(); err != nil {
			errs[i] = fmt.Errorf("read reach state of %s: %w", m.Id, err)
			continue
		}
		cached, hasCache := decode(rds[i].author.Val())
		if r.providers[m.Platform] != nil && !hasCache {
			// A platform lookup blocks up to its timeout: not in turn.
			wg.Go(func() { out[i], writes[i], errs[i] = r.settle(ctx, m, rds[i], cached, hasCache) })
			continue
		}
		out[i], writes[i], errs[i] = r.settle(ctx, m, rds[i], cached, hasCache)
	}
	wg.Wait()
	r.cache(ctx, writes)
	return out, errs
}

// settle decides what is known of m from its reads (and a platform
// lookup when nothing is cached), and what count to cache, if any.
func (r *resolver) settle(ctx context.Context, m *fbv1.Mention, rd reads, cached cachedProfile, hasCache bool) (resolved, *cacheWrite, error) {
	author, platform := m.GetAuthor(), m.Platform
	akey := r.authorKey(platform, author.GetId())
	out := resolved{brandFollowers: r.fallback[m.Brand]}
	if b, ok := decode(rd.brand.Val()); ok {
		out.brandFollowers = b.Followers
	}
	if rd.vel != nil {
		v, err := velocityResult(rd.vel)
		if err != nil {
			return resolved{}, nil, fmt.Errorf("engagement velocity of %s: %w", m.Id, err)
		}
		out.velocity = v
		if out.reshares, err = rd.spread.Int64(); err != nil {
			return resolved{}, nil, fmt.Errorf("reshares of %s in the last hour: %w", m.Id, err)
		}
	}
	fresh := hasCache && r.clock.Now().Sub(cached.at) < r.l.ProfileTTL
	provider := r.providers[platform]
	fromMention := profile.Profile{Followers: author.GetFollowers(), Verified: author.GetVerified()}
	var write *cacheWrite
	switch {
	case fresh:
		out.followers, out.verified, out.source = cached.Followers, cached.Verified, "cache"
	case provider != nil && hasCache:
		out.followers, out.verified, out.source = cached.Followers, cached.Verified, "cache"
		r.refreshLater(platform, author.GetId(), akey, cached.Profile)
	case provider != nil:
		p, err := r.lookup(ctx, platform, author.GetId())
		switch {
		case err != nil:
			out.followers, out.verified, out.source = fromMention.Followers, fromMention.Verified, "mention"
			out.notes = append(out.notes, "platform could not be asked for the follower count ("+shortReason(err)+"); used the count in the mention")
		case !profile.Plausible(fromMention.Followers, p.Followers):
			out.followers, out.verified, out.source = fromMention.Followers, fromMention.Verified, "mention"
			out.notes = append(out.notes, fmt.Sprintf("platform reported %s followers, implausible beside the mention's %s; kept the mention's", wording.Thousands(p.Followers), wording.Thousands(fromMention.Followers)))
		default:
			out.followers, out.verified, out.source = p.Followers, p.Verified, "platform"
			write = &cacheWrite{akey, p}
		}
	case hasCache && !profile.Plausible(cached.Followers, fromMention.Followers):
		out.followers, out.verified, out.source = cached.Followers, cached.Verified, "cache"
		out.notes = append(out.notes, fmt.Sprintf("mention reported %s followers, implausible beside the known %s; kept the known count", wording.Thousands(fromMention.Followers), wording.Thousands(cached.Followers)))
	default:
		out.followers, out.verified, out.source = fromMention.Followers, fromMention.Verified, "mention"
		if !hasCache || cached.Followers != fromMention.Followers {
			write = &cacheWrite{akey, fromMention}
		}
	}
	return out, write, nil
}

// lookup asks the platform once for all concurrent asks of one author.
func (r *resolver) lookup(ctx context.Context, p fbv1.Platform, id string) (profile.Profile, error) {
	ctx, cancel := context.WithTimeout(ctx, r.l.Timeout)
	defer cancel()
	r.waiting.Add(1)
	defer r.waiting.Add(-1)
	ch := r.sf.DoChan(p.String()+":"+id, func() (any, error) {
		// Detached from the first caller: the others share its answer.
		lctx, lcancel := context.WithTimeout(context.Background(), r.l.Timeout)
		defer lcancel()
		return r.providers[p].Get(lctx, id)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return profile.Profile{}, res.Err
		}
		return res.Val.(profile.Profile), nil
	case <-ctx.Done():
		return profile.Profile{}, fmt.Errorf("look up %s: %w", id, ctx.Err())
	}
}

// refreshLater refreshes a stale count in the background, at most a
// bounded number at once; a refresh that finds no room is skipped, and
// the next mention of that author tries again.
func (r *resolver) refreshLater(p fbv1.Platform, id, key string, known profile.Profile) {
	select {
	case r.refreshing <- struct{}{}:
	default:
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() { <-r.refreshing }()
		got, err := r.lookup(context.Background(), p, id)
		if err != nil {
			r.log.Debug("stale follower count not refreshed", "platform", p.String(), "author", id, "err", err)
			return
		}
		if !profile.Plausible(known.Followers, got.Followers) {
			r.log.Warn("platform reported an implausible follower count; kept the known one", "platform", p.String(), "author", id, "reported", got.Followers, "known", known.Followers)
			got.Followers = known.Followers
		}
		r.cache(context.Background(), []*cacheWrite{{key, got}})
	}()
}

// cache writes the counts learned, in one round trip; a count not cached
// is looked up or taken from a mention again next time.
func (r *resolver) cache(ctx context.Context, writes []*cacheWrite) {
	pipe := r.redis.Pipeline()
	for _, w := range writes {
		if w == nil {
			continue
		}
		pipe.HSet(ctx, w.key, "f", w.p.Followers, "v", boolInt(w.p.Verified), "at", r.clock.Now().UnixMilli())
		pipe.Expire(ctx, w.key, r.l.ProfileKeep)
	}
	n := pipe.Len() / 2
	if n == 0 {
		return
	}
	if _, err := pipe.Exec(ctx); err != nil {
		r.log.Warn("could not cache follower counts", "counts", n, "err", err)
	}
}

// Start refreshes the brands' own counts now and then every BrandRefresh.
func (r *resolver) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(r.l.BrandRefresh)
		defer t.Stop()
		for {
			r.refreshBrands(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// Stop ends the refreshes and waits for them.
func (r *resolver) Stop(ctx context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop profile refreshes: %w", ctx.Err())
	}
}

func (r *resolver) refreshBrands(ctx context.Context) {
	for _, b := range r.brands {
		prov, ok := r.providers[b.platform]
		if !ok {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		got, err := prov.Get(lctx, b.id)
		cancel()
		if err != nil {
			r.log.Warn("could not refresh the brand's follower count; keeping the last known", "brand", b.brand, "platform", b.platform.String(), "err", err)
			continue
		}
		key := r.brandKey(b.brand, b.platform)
		if old, ok := decode(r.redis.HGetAll(ctx, key).Val()); ok && !profile.Plausible(old.Followers, got.Followers) {
			r.log.Warn("platform reported an implausible brand follower count; kept the known one", "brand", b.brand, "reported", got.Followers, "known", old.Followers)
			continue
		}
		if err := r.redis.HSet(ctx, key, "f", got.Followers, "v", boolInt(got.Verified), "at", r.clock.Now().UnixMilli()).Err(); err != nil {
			r.log.Warn("could not store the brand's follower count", "brand", b.brand, "err", err)
		}
	}
}

type cachedProfile struct {
	profile.Profile
	at time.Time
}

func decode(h map[string]string) (cachedProfile, bool) {
	f, err1 := strconv.ParseInt(h["f"], 10, 64)
	at, err2 := strconv.ParseInt(h["at"], 10, 64)
	if err1 != nil || err2 != nil {
		return cachedProfile{}, false
	}
	return cachedProfile{Profile: profile.Profile{Followers: f, Verified: h["v"] == "1"}, at: time.UnixMilli(at)}, true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func shortReason(err error) string {
	switch {
	case errors.Is(err, profile.ErrRateLimited):
		return "rate limited"
	case errors.Is(err, profile.ErrNotFound):
		return "account not found"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	return "unreachable"
}
