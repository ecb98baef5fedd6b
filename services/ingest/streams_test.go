package ingest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/firebreak/firebreak/services/ingest/bluesky"
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
