package mastodon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/ingest/stream"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

const token = "brand-token"

// fakeInstance behaves as the Mastodon API documents for the calls the
// stream makes: verify_credentials, notifications paged by min_id (the
// page just after min_id, newest first), and the user stream. Its first
// streaming connection is dropped after sending its messages.
type fakeInstance struct {
	mu            sync.Mutex
	notifications []Notification // ascending ids
	live          [][]byte       // streamed on every connection
	requests      []string
	conns         int
	subscribed    []string // streams asked for over the socket
}

func (f *fakeInstance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+token {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"The access token is invalid"}`))
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	w.Header().Set("X-RateLimit-Limit", "300")
	w.Header().Set("X-RateLimit-Remaining", "299")
	switch r.URL.Path {
	case "/api/v1/accounts/verify_credentials":
		_ = json.NewEncoder(w).Encode(Account{ID: "7", Username: "acme", Acct: "acme"})
	case "/api/v1/notifications":
		f.page(w, r)
	case "/api/v1/streaming":
		f.stream(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeInstance) page(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("types[]") != "mention" || q.Get("include_filtered") != "true" {
		http.Error(w, "unexpected query", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	var out []Notification
	for _, n := range f.notifications {
		if Newer(n.ID, q.Get("min_id")) && len(out) < 2 { // a small page, to exercise paging
			out = append(out, n)
		}
	}
	f.mu.Unlock()
	slices.Reverse(out)
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeInstance) stream(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("stream") != "user" {
		http.Error(w, "unknown stream", http.StatusBadRequest)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	f.mu.Lock()
	f.conns++
	first, live := f.conns == 1, slices.Clone(f.live)
	f.mu.Unlock()
	// Events of the direct stream are sent only to a client that asked
	// for it, as Mastodon does.
	direct := false
	for _, m := range live {
		direct = direct || strings.Contains(string(m), `"stream":["direct"]`)
	}
	if direct {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		_, cmd, err := c.Read(ctx)
		cancel()
		var sub struct{ Type, Stream string }
		if err != nil || json.Unmarshal(cmd, &sub) != nil || sub.Type != "subscribe" {
			return
		}
		f.mu.Lock()
		f.subscribed = append(f.subscribed, sub.Stream)
		f.mu.Unlock()
		if sub.Stream != "direct" {
			return
		}
	}
	for _, m := range live {
		if err := c.Write(r.Context(), websocket.MessageText, m); err != nil {
			return
		}
	}
	if first {
		return // dropped
	}
	<-r.Context().Done()
}

func (f *fakeInstance) asked(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func mentionNotification(id string) Notification {
	acct := Account{ID: "42", Acct: "dan@example.social", FollowersCount: 332000}
	return Notification{ID: id, Type: "mention", Account: acct, Status: &Status{
		ID: "s" + id, CreatedAt: "2025-11-24T16:00:00Z", Content: "<p>@acme help " + id + "</p>", Account: acct, Visibility: "public"}}
}

func streamed(n Notification) []byte {
	payload, _ := json.Marshal(n)
	msg, _ := json.Marshal(Message{Stream: []string{"user"}, Event: "notification", Payload: string(payload)})
	return msg
}

type recorder struct {
	mu sync.Mutex
	ms []*fbv1.Mention
}

func (r *recorder) Ingest(_ context.Context, ms []*fbv1.Mention) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ms = append(r.ms, ms...)
	return nil
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.ms {
		out = append(out, m.PlatformId)
	}
	return out
}

func TestStreamCatchesUpFromTheCursorAndReconnects(t *testing.T) {
	client, keys := storetest.New(t)
	cursor := &stream.Cursor{Redis: client, Key: keys.Global("cursor", "mastodon", "acme")}
	if err := cursor.Save(context.Background(), "100"); err != nil {
		t.Fatal(err)
	}
	fav := Notification{ID: "102", Type: "favourite", Account: Account{ID: "9"}}
	update, _ := os.ReadFile("testdata/update_message.json")
	inst := &fakeInstance{
		notifications: []Notification{mentionNotification("99"), mentionNotification("101"), fav, mentionNotification("103")},
		// The stream repeats 103 (already caught up) and brings 104 and
		// the brand's reply.
		live: [][]byte{streamed(mentionNotification("103")), streamed(mentionNotification("104")), update, []byte(`{"event":"delete","payload":"1"}`)},
	}
	srv := httptest.NewServer(inst)
	defer srv.Close()

	secret := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(secret, []byte(token+"\n"), 0o600)
	sink := &recorder{}
	s, err := NewStream(Config{URL: srv.URL, TokenFile: secret, Brand: "acme"}, sink, cursor, srv.Client(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r := &stream.Runner{Name: "mastodon", Session: s.Session, Log: slog.New(slog.DiscardHandler), MinBackoff: time.Millisecond}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The reconnect's catch-up follows its streaming request; wait for it
	// rather than race it.
	caughtUpAgain := func() bool {
		return slices.ContainsFunc(inst.asked("/api/v1/notifications"), func(p string) bool { return strings.Contains(p, "min_id=104") })
	}
	testkit.Eventually(t, "a reconnect, four mentions and the catch-up from 104", func() bool {
		return len(inst.asked("/api/v1/streaming")) >= 2 && len(sink.ids()) >= 4 && caughtUpAgain()
	})
	if err := r.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := sink.ids()
	if want := []string{"s101", "s103", "s104", "113000000000000200"}; !slices.Equal(got[:4], want) {
		t.Fatalf("ingested %v, want %v first (99 is before the cursor, 102 is no mention, 103 once)", got, want)
	}
	pages := inst.asked("/api/v1/notifications")
	if !strings.Contains(pages[0], "min_id=100") {
		t.Fatalf("first catch-up %s: want min_id=100", pages[0])
	}
	// After the dropped connection the catch-up starts from the newest
	// notification handled.
	if last := pages[len(pages)-1]; !strings.Contains(last, "min_id=104") {
		t.Fatalf("catch-up after reconnect %s: want min_id=104 (all pages: %v)", last, pages)
	}
	if v, _ := cursor.Load(context.Background()); v != "104" {
		t.Fatalf("cursor %s, want 104", v)
	}
}

func TestStreamSaysWhatToFixWhenTheTokenIsRefused(t *testing.T) {
	srv := httptest.NewServer(&fakeInstance{})
	defer srv.Close()
	client, keys := storetest.New(t)
	secret := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(secret, []byte("wrong"), 0o600)
	s, err := NewStream(Config{URL: srv.URL, TokenFile: secret, Brand: "acme"}, &recorder{}, &stream.Cursor{Redis: client, Key: keys.Global("c")}, srv.Client(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Session(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--mastodon-token-file") {
		t.Fatalf("err = %v", fmt.Sprint(err))
	}
}

// A customer's direct message is their private mention; the brand's
// direct message, from the direct stream, is its private reply to them.
func TestStreamTakesDirectMessagesBothWays(t *testing.T) {
	client, keys := storetest.New(t)
	cursor := &stream.Cursor{Redis: client, Key: keys.Global("cursor", "mastodon", "acme")}
	dm := mentionNotification("201")
	dm.Status.Visibility = "direct"
	conversation, err := os.ReadFile("testdata/conversation_message.json")
	if err != nil {
		t.Fatal(err)
	}
	inst := &fakeInstance{live: [][]byte{streamed(dm), conversation}}
	srv := httptest.NewServer(inst)
	defer srv.Close()
	secret := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(secret, []byte(token+"\n"), 0o600)
	sink := &recorder{}
	s, err := NewStream(Config{URL: srv.URL, TokenFile: secret, Brand: "acme"}, sink, cursor, srv.Client(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r := &stream.Runner{Name: "mastodon", Session: s.Session, Log: slog.New(slog.DiscardHandler), MinBackoff: time.Millisecond}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "both direct messages ingested", func() bool { return len(sink.ids()) >= 2 })
	if err := r.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	customer, reply := sink.ms[0], sink.ms[1]
	sink.mu.Unlock()
	if customer.Visibility != fbv1.Visibility_VISIBILITY_PRIVATE || customer.BrandReply || customer.Author.Id != "42" {
		t.Fatalf("customer's direct message: %v", customer)
	}
	if reply.Visibility != fbv1.Visibility_VISIBILITY_PRIVATE || !reply.BrandReply || reply.ReplyToAuthorId != "42" ||
		reply.PlatformId != "113000000000000300" || !strings.Contains(reply.Text, "engineer comes at 9am") {
		t.Fatalf("brand's direct message: %v", reply)
	}
}
