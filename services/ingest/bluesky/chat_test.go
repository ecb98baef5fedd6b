package bluesky

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/ingest/bluesky/chattest"
	"github.com/firebreak/firebreak/services/ingest/stream"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

const (
	brandDID = "did:plc:acmebrand"
	danDID   = "did:plc:dan"
	eveDID   = "did:plc:eve"
)

// mentions is a Sink that keeps the mentions it was given.
type mentions struct {
	mu  sync.Mutex
	all []*fbv1.Mention
}

func (s *mentions) Ingest(_ context.Context, ms []*fbv1.Mention) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, ms...)
	return nil
}

func (s *mentions) got() []*fbv1.Mention {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*fbv1.Mention(nil), s.all...)
}

func startChat(t *testing.T, pds *chattest.PDS, cursor *stream.Cursor, sink Sink) *stream.Runner {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "app-password")
	if err := os.WriteFile(pw, []byte(pds.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := ChatConfig{PDSURL: pds.URL, Identifier: pds.Identifier, PasswordFile: pw, Brand: "acme", Poll: 5 * time.Millisecond, Service: chattest.Service}
	c, err := NewChat(cfg, sink, cursor, &http.Client{Timeout: 5 * time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r := &stream.Runner{Name: "bluesky-chat", Session: c.Session, Log: slog.New(slog.DiscardHandler), MinBackoff: time.Millisecond}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	return r
}

// The brand's direct conversations become private mentions: a customer's
// message is their mention, the brand's is its reply to that customer.
// Group conversations, deleted messages and other log entries are not
// taken, nor is the history before the first start.
func TestChatTakesDirectMessagesAsPrivateMentions(t *testing.T) {
	client, keys := storetest.New(t)
	cursor := &stream.Cursor{Redis: client, Key: keys.Global("cursor", "bluesky-chat", "acme")}
	pds := chattest.New(t, "acme.bsky.social", "app-pass-word", brandDID)
	pds.ExpireEvery = 3 // the session must be renewed along the way
	pds.Convo("c1", danDID)
	pds.Convo("c2", eveDID)
	pds.Group("g1", danDID, eveDID)
	pds.Message("c1", "m0", danDID, "old history, before Firebreak")

	sink := &mentions{}
	r := startChat(t, pds, cursor, sink)
	testkit.Eventually(t, "the first poll", func() bool { return len(pds.AskedCursors()) > 0 })
	pds.Message("c1", "m1", danDID, "my account number is 55-1234")
	pds.Message("c1", "m2", brandDID, "Thanks Dan, an engineer comes at 9am")
	pds.Deleted("c1", "m3", danDID)
	pds.Message("g1", "m4", eveDID, "a group chat")
	pds.Other("c2", "logAcceptConvo")
	pds.Message("c2", "m5", eveDID, "hello?")
	testkit.Eventually(t, "three messages", func() bool { return len(sink.got()) >= 3 })

	got := sink.got()
	if len(got) != 3 {
		t.Fatalf("got %d mentions, want 3: %v", len(got), got)
	}
	dan, reply, eve := got[0], got[1], got[2]
	for _, m := range got {
		if m.Visibility != fbv1.Visibility_VISIBILITY_PRIVATE || m.Platform != fbv1.Platform_PLATFORM_BLUESKY || m.Brand != "acme" {
			t.Fatalf("not a private Bluesky mention of acme: %v", m)
		}
	}
	if dan.PlatformId != "chat/c1/m1" || dan.BrandReply || dan.Author.Id != danDID || dan.Author.Handle == "" || dan.ConversationId != "bluesky:chat/c1" {
		t.Fatalf("customer's message: %v", dan)
	}
	if !reply.BrandReply || reply.ReplyToAuthorId != danDID || reply.Author.Id != brandDID || reply.PlatformId != "chat/c1/m2" {
		t.Fatalf("brand's message: %v", reply)
	}
	if eve.PlatformId != "chat/c2/m5" || eve.Author.Id != eveDID {
		t.Fatalf("second conversation: %v", eve)
	}
	if pds.Refreshs == 0 {
		t.Fatal("the expired session was never refreshed")
	}
	_ = r.Stop(context.Background())

	// A restart resumes at the saved cursor: nothing comes twice.
	saved, err := cursor.Load(context.Background())
	if err != nil || saved == "" {
		t.Fatalf("saved cursor %q %v", saved, err)
	}
	asked := len(pds.AskedCursors())
	sink2 := &mentions{}
	startChat(t, pds, cursor, sink2)
	pds.Message("c2", "m6", brandDID, "Hi Eve, how can we help?")
	testkit.Eventually(t, "the message after the restart", func() bool { return len(sink2.got()) >= 1 })
	if got := sink2.got(); len(got) != 1 || got[0].PlatformId != "chat/c2/m6" || got[0].ReplyToAuthorId != eveDID {
		t.Fatalf("after restart: %v", got)
	}
	if first := pds.AskedCursors()[asked]; first != saved {
		t.Fatalf("restart asked from %q, want the saved %q", first, saved)
	}
}

func TestChatRefusesAWrongPasswordWithAFix(t *testing.T) {
	client, keys := storetest.New(t)
	pds := chattest.New(t, "acme.bsky.social", "right", brandDID)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := NewChat(ChatConfig{PDSURL: pds.URL, Identifier: "acme.bsky.social", PasswordFile: pw, Brand: "acme", Poll: time.Second, Service: chattest.Service},
		&mentions{}, &stream.Cursor{Redis: client, Key: keys.Global("c")}, http.DefaultClient, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Session(context.Background())
	if err == nil || !strings.Contains(err.Error(), "direct message access") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("got %v; want a hint at the app password, without the password", err)
	}
}

func TestChatLogEntriesFollowTheLexicon(t *testing.T) {
	for name, tc := range map[string]struct {
		raw   string
		other string
		want  bool
	}{
		"a customer's message":      {`{"$type":"chat.bsky.convo.defs#logCreateMessage","rev":"r","convoId":"c","message":{"$type":"chat.bsky.convo.defs#messageView","id":"m","rev":"r","text":"hi","sender":{"did":"did:plc:dan"},"sentAt":"2026-11-23T10:00:00Z"}}`, danDID, true},
		"a deleted message":         {`{"$type":"chat.bsky.convo.defs#logCreateMessage","rev":"r","convoId":"c","message":{"$type":"chat.bsky.convo.defs#deletedMessageView","id":"m","rev":"r","sender":{"did":"did:plc:dan"},"sentAt":"2026-11-23T10:00:00Z"}}`, danDID, false},
		"a read receipt":            {`{"$type":"chat.bsky.convo.defs#logReadMessage","rev":"r","convoId":"c","message":{"$type":"chat.bsky.convo.defs#messageView","id":"m","rev":"r","text":"hi","sender":{"did":"did:plc:dan"},"sentAt":"2026-11-23T10:00:00Z"}}`, danDID, false},
		"a group conversation":      {`{"$type":"chat.bsky.convo.defs#logCreateMessage","rev":"r","convoId":"c","message":{"$type":"chat.bsky.convo.defs#messageView","id":"m","rev":"r","text":"hi","sender":{"did":"did:plc:dan"},"sentAt":"2026-11-23T10:00:00Z"}}`, "", false},
		"a sender not in the convo": {`{"$type":"chat.bsky.convo.defs#logCreateMessage","rev":"r","convoId":"c","message":{"$type":"chat.bsky.convo.defs#messageView","id":"m","rev":"r","text":"hi","sender":{"did":"did:plc:mallory"},"sentAt":"2026-11-23T10:00:00Z"}}`, danDID, false},
	} {
		e, err := ParseLogEntry([]byte(tc.raw))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, ok := e.Mention("acme", brandDID, tc.other); ok != tc.want {
			t.Errorf("%s: taken = %v, want %v", name, ok, tc.want)
		}
	}
	if _, err := ParseLogEntry([]byte(`{"rev":"r"}`)); err == nil {
		t.Fatal("an entry without $type was read")
	}
}

func FuzzChatLogEntry(f *testing.F) {
	f.Add([]byte(`{"$type":"chat.bsky.convo.defs#logCreateMessage","rev":"r","convoId":"c","message":{"$type":"chat.bsky.convo.defs#messageView","id":"m","rev":"r","text":"hi","sender":{"did":"did:plc:dan"},"sentAt":"2026-11-23T10:00:00Z"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := ParseLogEntry(raw)
		if err != nil {
			return
		}
		m, ok := e.Mention("acme", brandDID, danDID)
		if !ok {
			return
		}
		if m.Visibility != fbv1.Visibility_VISIBILITY_PRIVATE || m.Author.Id != brandDID && m.Author.Id != danDID ||
			m.BrandReply != (m.Author.Id == brandDID) || m.BrandReply && m.ReplyToAuthorId != danDID {
			t.Fatalf("mention %v from %s", m, raw)
		}
	})
}
