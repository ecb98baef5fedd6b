package bluesky

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/ingest/stream"
	"github.com/firebreak/firebreak/services/platform/config"
)

// ChatConfig turns on the brand account's direct messages. They never
// reach Jetstream: they live in the chat service, read by polling
// chat.bsky.convo.getLog through the account's PDS with its own login.
type ChatConfig struct {
	PDSURL       string // the brand account's PDS, e.g. https://bsky.social
	Identifier   string // the account's handle or DID
	PasswordFile string // an app password allowed to read direct messages
	Brand        string
	Poll         time.Duration
	// Service is the chat service the PDS proxies to (Atproto-Proxy).
	Service string
}

// Register declares the flags.
func (c *ChatConfig) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.PDSURL, "bluesky-chat-pds-url", "", "the brand account's PDS, e.g. https://bsky.social; turns on reading its direct messages (empty: off)")
	fs.StringVar(&c.Identifier, "bluesky-chat-identifier", "", "the brand account's handle or DID")
	fs.StringVar(&c.PasswordFile, "bluesky-chat-app-password-file", "", "file holding an app password of the brand account, created with direct message access")
	fs.StringVar(&c.Brand, "bluesky-chat-brand", "", "the brand the account belongs to, e.g. acme")
	fs.DurationVar(&c.Poll, "bluesky-chat-poll", 5*time.Second, "how often the chat log is polled")
	fs.StringVar(&c.Service, "bluesky-chat-service", "did:web:api.bsky.chat#bsky_chat", "the chat service the PDS proxies chat.bsky calls to")
}

// Enabled is whether chat polling is configured.
func (c *ChatConfig) Enabled() bool { return c.PDSURL != "" }

// Validate reports what is wrong into p.
func (c *ChatConfig) Validate(p *config.Problems) {
	if !c.Enabled() {
		return
	}
	u, err := url.Parse(c.PDSURL)
	p.Check(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "", "bluesky-chat-pds-url", "must be the PDS's https:// URL")
	p.Check(c.Identifier != "", "bluesky-chat-identifier", "is needed with --bluesky-chat-pds-url: the brand account's handle or DID")
	p.Check(c.PasswordFile != "", "bluesky-chat-app-password-file", "is needed with --bluesky-chat-pds-url: a file holding an app password with direct message access")
	p.Check(c.Brand != "", "bluesky-chat-brand", "is needed with --bluesky-chat-pds-url: the brand the account belongs to")
	p.Check(c.Poll >= 100*time.Millisecond, "bluesky-chat-poll", "must be at least 100ms")
	p.Check(strings.HasPrefix(c.Service, "did:") && strings.Contains(c.Service, "#"), "bluesky-chat-service", "must be a service reference, DID#id (e.g. did:web:api.bsky.chat#bsky_chat)")
}

// maxMembersCached bounds the conversations whose other member is
// remembered; past it the cache starts over (a lookup is one call).
const maxMembersCached = 10_000

// Chat polls the brand account's chat log and hands its direct messages
// to a Sink as private mentions. Its cursor is the rev of the last log
// entry whose message, if any, is durable.
type Chat struct {
	cfg      ChatConfig
	base     *url.URL
	password string
	sink     Sink
	cursor   *stream.Cursor
	client   *http.Client
	log      *slog.Logger

	// Only the session goroutine touches these.
	did, access, refresh string
	last                 string
	others               map[string]string // convo id -> the other member's DID ("" for a group)
}

// NewChat builds the poller from a validated ChatConfig.
func NewChat(c ChatConfig, sink Sink, cursor *stream.Cursor, client *http.Client, log *slog.Logger) (*Chat, error) {
	password, err := config.ReadSecret(c.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("bluesky chat: %w", err)
	}
	base, err := url.Parse(strings.TrimRight(c.PDSURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("--bluesky-chat-pds-url %q: %w", c.PDSURL, err)
	}
	if c.Poll <= 0 {
		c.Poll = 5 * time.Second
	}
	return &Chat{cfg: c, base: base, password: password, sink: sink, cursor: cursor, client: client, log: log, others: map[string]string{}}, nil
}

// Session logs in, then polls the log until ctx ends or a call fails; see
// stream.Session.
func (c *Chat) Session(ctx context.Context) error {
	if c.access == "" {
		if err := c.login(ctx); err != nil {
			return err
		}
	}
	if err := c.resume(ctx); err != nil {
		return err
	}
	t := time.NewTicker(c.cfg.Poll)
	defer t.Stop()
	for {
		if err := c.poll(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// resume loads the saved cursor; on the very first start it begins at the
// newest conversation's rev, so that old conversations are not replayed
// as if they had just happened.
func (c *Chat) resume(ctx context.Context) error {
	if c.last != "" {
		return nil
	}
	v, err := c.cursor.Load(ctx)
	if err != nil {
		return err
	}
	if v != "" {
		c.last = v
		return nil
	}
	var out struct {
		Convos []struct {
			Rev string `json:"rev"`
		} `json:"convos"`
	}
	if err := c.call(ctx, "chat.bsky.convo.listConvos", url.Values{"limit": {"1"}}, &out); err != nil {
		return err
	}
	if len(out.Convos) > 0 && out.Convos[0].Rev != "" {
		c.last = out.Convos[0].Rev
		return c.cursor.Save(ctx, c.last)
	}
	return nil
}

// poll reads every log page after the cursor, taking each message in and
// saving the cursor after each page.
func (c *Chat) poll(ctx context.Context) error {
	for {
		q := url.Values{}
		if c.last != "" {
			q.Set("cursor", c.last)
		}
		var page struct {
			Cursor string            `json:"cursor"`
			Logs   []json.RawMessage `json:"logs"`
		}
		if err := c.call(ctx, "chat.bsky.convo.getLog", q, &page); err != nil {
			return fmt.Errorf("poll the Bluesky chat log after %q: %w", c.last, err)
		}
		for _, raw := range page.Logs {
			if err := c.handle(ctx, raw); err != nil {
				return err
			}
		}
		if len(page.Logs) == 0 || page.Cursor == "" || page.Cursor == c.last {
			return nil
		}
		c.last = page.Cursor
		if err := c.cursor.Save(ctx, c.last); err != nil {
			c.log.WarnContext(ctx, "could not save the Bluesky chat cursor; a restart will replay more", "err", err)
		}
	}
}

func (c *Chat) handle(ctx context.Context, raw json.RawMessage) error {
	entry, err := ParseLogEntry(raw)
	if err != nil {
		c.log.WarnContext(ctx, "skipped a malformed Bluesky chat log entry", "err", err)
		return nil
	}
	if !entry.IsMessage() {
		return nil
	}
	other, err := c.otherMember(ctx, entry.ConvoID)
	if err != nil {
		return err
	}
	m, ok := entry.Mention(c.cfg.Brand, c.did, other)
	if !ok {
		return nil // a group conversation, or a message not the brand's
	}
	if err := c.sink.Ingest(ctx, []*fbv1.Mention{m}); err != nil {
		return fmt.Errorf("ingest Bluesky chat message %s: %w", m.PlatformId, err)
	}
	return nil
}

// otherMember is the member of a direct conversation who is not the
// brand, or "" for a group conversation.
func (c *Chat) otherMember(ctx context.Context, convoID string) (string, error) {
	if other, ok := c.others[convoID]; ok {
		return other, nil
	}
	var out struct {
		Convo struct {
			Members []struct {
				DID string `json:"did"`
			} `json:"members"`
			Kind *struct {
				Type string `json:"$type"`
			} `json:"kind"`
		} `json:"convo"`
	}
	if err := c.call(ctx, "chat.bsky.convo.getConvo", url.Values{"convoId": {convoID}}, &out); err != nil {
		return "", fmt.Errorf("look up Bluesky conversation %s: %w", convoID, err)
	}
	other := ""
	group := out.Convo.Kind != nil && strings.HasSuffix(out.Convo.Kind.Type, "#groupConvo")
	if ms := out.Convo.Members; len(ms) == 2 && !group {
		for _, m := range ms {
			if m.DID != c.did {
				other = m.DID
			}
		}
	}
	if len(c.others) >= maxMembersCached {
		clear(c.others)
	}
	c.others[convoID] = other
	return other, nil
}

// xrpcError is the body of a failed XRPC call.
type xrpcError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

var errExpired = errors.New("bluesky session expired")

// call makes an authenticated chat query through the PDS, renewing the
// session once when the access token has expired.
func (c *Chat) call(ctx context.Context, nsid string, q url.Values, into any) error {
	err := c.get(ctx, nsid, q, into)
	if !errors.Is(err, errExpired) {
		return err
	}
	if rerr := c.renew(ctx); rerr != nil {
		return rerr
	}
	return c.get(ctx, nsid, q, into)
}

func (c *Chat) get(ctx context.Context, nsid string, q url.Values, into any) error {
	u := *c.base
	u.Path += "/xrpc/" + nsid
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.access)
	req.Header.Set("Atproto-Proxy", c.cfg.Service)
	return c.do(req, nsid, into)
}

// session is the output of createSession and refreshSession.
type session struct {
	DID        string `json:"did"`
	AccessJwt  string `json:"accessJwt"`
	RefreshJwt string `json:"refreshJwt"`
}

// login creates a session with the app password.
func (c *Chat) login(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"identifier": c.cfg.Identifier, "password": c.password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+"/xrpc/com.atproto.server.createSession", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	var s session
	if err := c.do(req, "com.atproto.server.createSession", &s); err != nil {
		return fmt.Errorf("log in to Bluesky as %s: %w; check --bluesky-chat-identifier and the app password (it needs direct message access)", c.cfg.Identifier, err)
	}
	return c.use(s)
}

// renew refreshes the session, or logs in again when the refresh token has
// expired too.
func (c *Chat) renew(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+"/xrpc/com.atproto.server.refreshSession", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.refresh)
	var s session
	if err := c.do(req, "com.atproto.server.refreshSession", &s); err != nil {
		return c.login(ctx)
	}
	return c.use(s)
}

func (c *Chat) use(s session) error {
	if s.DID == "" || s.AccessJwt == "" {
		return errors.New("bluesky session has no DID or access token")
	}
	c.did, c.access, c.refresh = s.DID, s.AccessJwt, s.RefreshJwt
	return nil
}

// do sends req and decodes a bounded JSON answer. Error texts carry the
// XRPC error name only, never a token.
func (c *Chat) do(req *http.Request, nsid string, into any) error {
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", nsid, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e xrpcError
		_ = json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&e)
		if e.Error == "ExpiredToken" || resp.StatusCode == http.StatusUnauthorized && e.Error != "AuthenticationRequired" {
			return fmt.Errorf("%s: %w (%s)", nsid, errExpired, resp.Status)
		}
		return fmt.Errorf("%s: %s %s: %.200s", nsid, resp.Status, e.Error, e.Message)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(into); err != nil {
		return fmt.Errorf("%s: malformed JSON: %w", nsid, err)
	}
	return nil
}
