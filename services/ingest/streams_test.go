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
	"github.com/firebreak/firebreak/services/platform/testkit"
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
	testkit.Eventually(t, "three connections and the post published", func() bool { return len(conns) >= 3 && published(t, d) >= 1 })
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
	testkit.Eventually(t, "the chat log polled", func() bool { return len(pds.AskedCursors()) > 0 })
	pds.Message("c1", "m1", "did:plc:dan", "still no engineer")
	pds.Message("c1", "m2", "did:plc:acmebrand", "Sorry Dan, booked for 9am")
	ctx := context.Background()
	cursorKey := d.Keys.Global("cursor", "bluesky-chat", "acme")
	// The cursor moves past a page once its messages are durable.
	testkit.Eventually(t, "both messages published and the cursor stored", func() bool {
		return published(t, d) >= 2 && d.Redis.Get(ctx, cursorKey).Val() != ""
	})
	if n, err := d.Redis.Exists(ctx, d.Keys.Global("lease", "bluesky-chat", "acme")).Result(); err != nil || n != 1 {
		t.Fatalf("lease held: %d %v", n, err)
	}
	if got := published(t, d); got != 2 {
		t.Fatalf("%d published, want 2", got)
	}
}
