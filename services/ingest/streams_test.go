package ingest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/firebreak/firebreak/services/ingest/bluesky"
	"github.com/firebreak/firebreak/services/ingest/bluesky/chattest"
)

// TestBlueskyStreamPublishesMentionsOnce runs the service with Jetstream
// configured against a local Jetstream that sends the same post on every
// connection and drops each one: the post is published once.
func TestBlueskyStreamPublishesMentionsOnce(t *testing.T) {
	event, err := os.ReadFile("bluesky/testdata/jetstream_mention.json")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan struct{}, 100)
	jet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		conns <- struct{}{}
		_ = c.Write(r.Context(), websocket.MessageText, event)
	}))
	defer jet.Close()
	svc, d := startIngest(t, func(c *Config) {
		c.Bluesky = bluesky.Config{URL: "ws" + strings.TrimPrefix(jet.URL, "http"), Brands: "acme=did:plc:acmebrand",
			Retention: 1 << 62, CursorEvery: time.Second}
	})
	_ = svc
	deadline := time.Now().Add(5 * time.Second)
	for len(conns) < 3 || published(t, d) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %d connections, %d published", len(conns), published(t, d))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := published(t, d); got != 1 {
		t.Fatalf("%d published, want 1", got)
	}
	cursor, err := d.Redis.Get(context.Background(), d.Keys.Global("cursor", "bluesky")).Result()
	if err != nil || cursor != "1764000000000001" {
		t.Fatalf("cursor %q %v", cursor, err)
	}
}

// TestBlueskyChatPublishesPrivateMessagesUnderALease runs the service with
// chat polling against a fake PDS: the messages are published once as
// private mentions, the cursor is in Redis, and the poller holds the
// single-replica lease.
func TestBlueskyChatPublishesPrivateMessagesUnderALease(t *testing.T) {
	pds := chattest.New(t, "acme.bsky.social", "app-password", "did:plc:acmebrand")
	pds.Convo("c1", "did:plc:dan")
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("app-password"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, d := startIngest(t, func(c *Config) {
		c.BlueskyChat = bluesky.ChatConfig{PDSURL: pds.URL, Identifier: "acme.bsky.social", PasswordFile: pw, Brand: "acme",
			Poll: 10 * time.Millisecond, Service: chattest.Service}
	})
	deadline := time.Now().Add(5 * time.Second)
	for len(pds.AskedCursors()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the chat log was never polled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	pds.Message("c1", "m1", "did:plc:dan", "still no engineer")
	pds.Message("c1", "m2", "did:plc:acmebrand", "Sorry Dan, booked for 9am")
	ctx := context.Background()
	cursorKey := d.Keys.Global("cursor", "bluesky-chat", "acme")
	// The cursor moves past a page once its messages are durable.
	for published(t, d) < 2 || d.Redis.Get(ctx, cursorKey).Val() == "" {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %d published, cursor %q", published(t, d), d.Redis.Get(ctx, cursorKey).Val())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n, err := d.Redis.Exists(ctx, d.Keys.Global("lease", "bluesky-chat", "acme")).Result(); err != nil || n != 1 {
		t.Fatalf("lease held: %d %v", n, err)
	}
	if got := published(t, d); got != 2 {
		t.Fatalf("%d published, want 2", got)
	}
}
