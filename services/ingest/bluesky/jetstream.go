package bluesky

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"go.opentelemetry.io/otel/metric"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/ingest/stream"
	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/config"
)

// Sink takes mentions in and returns once they are durable; ingest is one.
type Sink interface {
	Ingest(ctx context.Context, mentions []*fbv1.Mention) error
}

// Config turns the Jetstream subscription on.
type Config struct {
	URL    string
	Brands string
	// Retention is how far back the Jetstream instance keeps events; a
	// saved cursor older than this cannot be resumed without a gap.
	Retention time.Duration
	// CursorEvery bounds how often the cursor is saved when no mention
	// arrives, so a restart does not replay hours of unrelated posts.
	CursorEvery time.Duration
}

// Register declares the flags.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "bluesky-jetstream-url", "", "Jetstream subscribe URL, e.g. wss://jetstream2.us-east.bsky.network/subscribe (empty: off)")
	fs.StringVar(&c.Brands, "bluesky-brands", "", "each brand's DID, e.g. acme=did:plc:abc123")
	fs.DurationVar(&c.Retention, "bluesky-retention", 24*time.Hour, "how far back the Jetstream instance keeps events")
	fs.DurationVar(&c.CursorEvery, "bluesky-cursor-every", 5*time.Second, "how often the cursor is saved when no mention arrives")
}

// Enabled is whether the stream is configured.
func (c *Config) Enabled() bool { return c.URL != "" }

// Validate reports what is wrong into p.
func (c *Config) Validate(p *config.Problems) {
	if !c.Enabled() {
		return
	}
	u, err := url.Parse(c.URL)
	p.Check(err == nil && (u.Scheme == "ws" || u.Scheme == "wss"), "bluesky-jetstream-url", "must be a ws:// or wss:// URL")
	_, err = ParseBrands(c.Brands)
	p.Check(err == nil, "bluesky-brands", fmt.Sprint(err))
	p.Check(c.Retention > 0, "bluesky-retention", "must be positive, e.g. 24h")
	p.Check(c.CursorEvery > 0, "bluesky-cursor-every", "must be positive, e.g. 5s")
}

// ParseBrands reads "acme=did:plc:abc,globex=did:web:globex.com".
func ParseBrands(s string) (Brands, error) {
	out := Brands{}
	for _, pair := range strings.Split(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		brand, did, ok := strings.Cut(pair, "=")
		if !ok || brand == "" || !strings.HasPrefix(did, "did:") {
			return nil, fmt.Errorf("%q is not brand=DID (e.g. acme=did:plc:abc123)", pair)
		}
		out[did] = brand
	}
	if len(out) == 0 {
		return nil, errors.New("names no brand; set it to brand=DID for each brand's Bluesky account")
	}
	return out, nil
}

// Jetstream reads Jetstream and hands mentions to a Sink. Its cursor is
// the time_us of the last event whose mention, if any, is durable.
type Jetstream struct {
	cfg    Config
	brands Brands
	sink   Sink
	cursor *stream.Cursor
	log    *slog.Logger
	gaps   metric.Int64Counter
	clock  clock.Clock

	last     int64 // time_us of the last handled event; the session's only
	gapCount atomic.Int64
}

// NewJetstream builds the stream from a validated Config.
func NewJetstream(c Config, sink Sink, cursor *stream.Cursor, log *slog.Logger, meter metric.Meter) (*Jetstream, error) {
	brands, err := ParseBrands(c.Brands)
	if err != nil {
		return nil, fmt.Errorf("--bluesky-brands %w", err)
	}
	gaps, err := meter.Int64Counter("firebreak.ingest.stream.gaps",
		metric.WithDescription("times a platform stream resumed from a cursor older than the platform keeps: mentions in between are lost"))
	if err != nil {
		return nil, err
	}
	return &Jetstream{cfg: c, brands: brands, sink: sink, cursor: cursor, log: log, gaps: gaps, clock: clock.System{}}, nil
}

// Gaps is how many gaps were reported.
func (j *Jetstream) Gaps() int64 { return j.gapCount.Load() }

// Session is one websocket connection; see stream.Session.
func (j *Jetstream) Session(ctx context.Context) error {
	if err := j.resumeFrom(ctx); err != nil {
		return err
	}
	conn, _, err := websocket.Dial(ctx, j.subscribeURL(), nil)
	if err != nil {
		return fmt.Errorf("connect to Jetstream %s: %w", j.cfg.URL, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(2 << 20)
	saved, progressed := j.clock.Now(), false
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			j.save(context.WithoutCancel(ctx))
			if progressed {
				return nil
			}
			return fmt.Errorf("read Jetstream: %w", err)
		}
		if err := j.handle(ctx, data); err != nil {
			j.save(context.WithoutCancel(ctx))
			return err
		}
		progressed = true
		if j.clock.Now().Sub(saved) >= j.cfg.CursorEvery {
			j.save(ctx)
			saved = j.clock.Now()
		}
	}
}

// resumeFrom loads the saved cursor on the first connection, and reports a
// gap loudly when it is older than Jetstream keeps.
func (j *Jetstream) resumeFrom(ctx context.Context) error {
	if j.last != 0 {
		return nil
	}
	v, err := j.cursor.Load(ctx)
	if err != nil || v == "" {
		return err
	}
	us, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("saved Jetstream cursor %q is not a time in microseconds; delete key %s to start from now", v, j.cursor.Key)
	}
	j.last = us
	if age := j.clock.Now().Sub(time.UnixMicro(us)); age > j.cfg.Retention {
		j.gapCount.Add(1)
		j.gaps.Add(ctx, 1)
		j.log.ErrorContext(ctx, "GAP: the saved Bluesky cursor is older than Jetstream keeps; mentions posted in between are lost and will not be replayed",
			"cursor", time.UnixMicro(us).UTC().Format(time.RFC3339), "age", age.Round(time.Second).String(),
			"retention", j.cfg.Retention.String(), "lost_until", j.clock.Now().Add(-j.cfg.Retention).UTC().Format(time.RFC3339))
	}
	return nil
}

func (j *Jetstream) subscribeURL() string {
	u, _ := url.Parse(j.cfg.URL)
	q := u.Query()
	q.Set("wantedCollections", postCollection)
	if j.last > 0 {
		// Jetstream replays from the cursor inclusive; the event at the
		// cursor comes again and ingest's dedup drops it, so nothing is
		// missed at the boundary.
		q.Set("cursor", strconv.FormatInt(j.last, 10))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (j *Jetstream) handle(ctx context.Context, data []byte) error {
	ev, err := Parse(data)
	if err != nil {
		j.log.WarnContext(ctx, "skipped a Jetstream message that is not an event", "err", err)
		return nil
	}
	m, ok, err := ev.Mention(j.brands)
	if err != nil {
		j.log.WarnContext(ctx, "skipped a malformed Bluesky post", "err", err)
	}
	if ok {
		if err := j.sink.Ingest(ctx, []*fbv1.Mention{m}); err != nil {
			// Not advancing the cursor past it: the next session replays it.
			return fmt.Errorf("ingest Bluesky post %s: %w", m.PlatformId, err)
		}
	}
	j.last = max(j.last, ev.TimeUS)
	if ok {
		j.save(ctx)
	}
	return nil
}

func (j *Jetstream) save(ctx context.Context) {
	if j.last == 0 {
		return
	}
	if err := j.cursor.Save(ctx, strconv.FormatInt(j.last, 10)); err != nil {
		j.log.WarnContext(ctx, "could not save the Bluesky cursor; a restart will replay more", "err", err)
	}
}
