package mastodon

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/coder/websocket"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/ingest/stream"
	"github.com/firebreak/firebreak/services/platform/config"
)

// Sink takes mentions in and returns once they are durable; ingest is one.
type Sink interface {
	Ingest(ctx context.Context, mentions []*fbv1.Mention) error
}

// Config turns the stream on for one brand's account.
type Config struct {
	URL       string // the instance, e.g. https://mastodon.social
	TokenFile string // the brand account's access token (read:notifications read:statuses)
	Brand     string
}

// Register declares the flags.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "mastodon-url", "", "the brand account's Mastodon instance, e.g. https://mastodon.social (empty: off)")
	fs.StringVar(&c.TokenFile, "mastodon-token-file", "", "file holding the brand account's access token")
	fs.StringVar(&c.Brand, "mastodon-brand", "", "the brand whose account the token belongs to, e.g. acme")
}

// Enabled is whether the stream is configured.
func (c *Config) Enabled() bool { return c.URL != "" }

// Validate reports what is wrong into p.
func (c *Config) Validate(p *config.Problems) {
	if !c.Enabled() {
		return
	}
	u, err := url.Parse(c.URL)
	p.Check(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "", "mastodon-url", "must be the instance's https:// URL")
	p.Check(c.TokenFile != "", "mastodon-token-file", "is needed with --mastodon-url: a file holding the brand account's access token")
	p.Check(c.Brand != "", "mastodon-brand", "is needed with --mastodon-url: the brand the account belongs to")
}

// Stream follows the brand account's user stream.
type Stream struct {
	base   *url.URL
	token  string
	brand  string
	sink   Sink
	cursor *stream.Cursor
	client *http.Client
	log    *slog.Logger

	// Only the session goroutine touches these.
	last      string // newest notification id handled
	accountID string // the brand's own account id
}

// NewStream builds the stream from a validated Config.
func NewStream(c Config, sink Sink, cursor *stream.Cursor, client *http.Client, log *slog.Logger) (*Stream, error) {
	token, err := config.ReadSecret(c.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("mastodon: %w", err)
	}
	base, err := url.Parse(strings.TrimRight(c.URL, "/"))
	if err != nil {
		return nil, fmt.Errorf("--mastodon-url %q: %w", c.URL, err)
	}
	return &Stream{base: base, token: token, brand: c.Brand, sink: sink, cursor: cursor, client: client, log: log}, nil
}

// Session connects the user stream first and only then catches up through
// the notifications API, so nothing posted between the two is missed: it
// waits in the socket and comes again, deduplicated by ingest.
func (s *Stream) Session(ctx context.Context) error {
	if err := s.prepare(ctx); err != nil {
		return err
	}
	conn, _, err := websocket.Dial(ctx, s.streamingURL(), &websocket.DialOptions{
		HTTPClient: s.client, HTTPHeader: http.Header{"Authorization": {"Bearer " + s.token}},
	})
	if err != nil {
		return fmt.Errorf("connect to Mastodon streaming at %s: %w", s.base.Host, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	// The brand's own direct messages come on the direct stream, which
	// the same connection carries once asked.
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","stream":"direct"}`)); err != nil {
		return fmt.Errorf("subscribe to Mastodon's direct stream: %w", err)
	}
	if err := s.catchUp(ctx); err != nil {
		return err
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("read Mastodon stream: %w", err)
		}
		if err := s.handle(ctx, data); err != nil {
			return err
		}
	}
}

// prepare loads the cursor and learns the brand's account id, once.
func (s *Stream) prepare(ctx context.Context) error {
	if s.accountID == "" {
		var acct Account
		if err := s.get(ctx, "/api/v1/accounts/verify_credentials", nil, &acct); err != nil {
			return fmt.Errorf("verify the Mastodon token: %w", err)
		}
		s.accountID = acct.ID
	}
	if s.last == "" {
		v, err := s.cursor.Load(ctx)
		if err != nil {
			return err
		}
		s.last = v
	}
	return nil
}

func (s *Stream) streamingURL() string {
	u := *s.base
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	case "http":
		u.Scheme = "ws"
	}
	u.Path += "/api/v1/streaming"
	u.RawQuery = url.Values{"stream": {"user"}}.Encode()
	return u.String()
}

// catchUp reads every mention notification newer than the cursor, oldest
// page first. min_id (not since_id) pages forward from the cursor without
// skipping; include_filtered brings the ones the account's notification
// policy filtered, which a brand must still see.
func (s *Stream) catchUp(ctx context.Context) error {
	if s.last == "" {
		return nil // first start: the stream is the beginning
	}
	for {
		q := url.Values{"types[]": {"mention"}, "min_id": {s.last}, "limit": {"40"}, "include_filtered": {"true"}}
		var page []Notification
		if err := s.get(ctx, "/api/v1/notifications", q, &page); err != nil {
			return fmt.Errorf("catch up on Mastodon notifications after %s: %w", s.last, err)
		}
		if len(page) == 0 {
			return nil
		}
		slices.SortFunc(page, func(a, b Notification) int {
			if Newer(a.ID, b.ID) {
				return 1
			}
			return -1
		})
		for _, n := range page {
			if err := s.notification(ctx, n); err != nil {
				return err
			}
		}
	}
}

func (s *Stream) handle(ctx context.Context, data []byte) error {
	msg, err := ParseMessage(data)
	if err != nil {
		s.log.WarnContext(ctx, "skipped a Mastodon streaming message", "err", err)
		return nil
	}
	switch msg.Event {
	case "notification":
		n, err := msg.Notification()
		if err != nil {
			s.log.WarnContext(ctx, "skipped a Mastodon notification", "err", err)
			return nil
		}
		return s.notification(ctx, n)
	case "update":
		st, err := msg.Status()
		if err != nil {
			s.log.WarnContext(ctx, "skipped a Mastodon status", "err", err)
			return nil
		}
		m, ok, err := st.BrandReply(s.brand, s.accountID)
		if err != nil || !ok {
			return nil
		}
		return s.ingest(ctx, m)
	case "conversation":
		c, err := msg.Conversation()
		if err != nil {
			s.log.WarnContext(ctx, "skipped a Mastodon conversation", "err", err)
			return nil
		}
		m, ok, err := c.BrandReply(s.brand, s.accountID)
		if err != nil || !ok {
			return nil
		}
		return s.ingest(ctx, m)
	}
	return nil
}

// notification ingests a mention and then moves the cursor past it.
func (s *Stream) notification(ctx context.Context, n Notification) error {
	if s.last != "" && !Newer(n.ID, s.last) {
		return nil
	}
	m, ok, err := n.Mention(s.brand)
	if err != nil {
		s.log.WarnContext(ctx, "skipped a malformed Mastodon mention", "notification", n.ID, "err", err)
	}
	if ok {
		if err := s.ingest(ctx, m); err != nil {
			return err
		}
	}
	s.last = n.ID
	if err := s.cursor.Save(ctx, n.ID); err != nil {
		s.log.WarnContext(ctx, "could not save the Mastodon cursor; a restart will replay more", "err", err)
	}
	return nil
}

func (s *Stream) ingest(ctx context.Context, m *fbv1.Mention) error {
	if err := s.sink.Ingest(ctx, []*fbv1.Mention{m}); err != nil {
		return fmt.Errorf("ingest Mastodon status %s: %w", m.PlatformId, err)
	}
	return nil
}

// errRateLimited carries when the instance will take requests again.
var errRateLimited = errors.New("mastodon rate limit reached")

func (s *Stream) get(ctx context.Context, path string, q url.Values, into any) error {
	u := *s.base
	u.Path += path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("%w; resets at %s", errRateLimited, resp.Header.Get("X-RateLimit-Reset"))
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("GET %s: %s; check --mastodon-token-file and the token's scopes (read:notifications, read:statuses)", path, resp.Status)
	case resp.StatusCode != http.StatusOK:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(into); err != nil {
		return fmt.Errorf("GET %s: malformed JSON: %w", path, err)
	}
	return nil
}
