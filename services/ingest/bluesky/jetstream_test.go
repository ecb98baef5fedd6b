package bluesky

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.opentelemetry.io/otel/metric/noop"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/ingest/stream"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// fakeJetstream serves /subscribe as Jetstream documents it: events in
// time_us order from the cursor (inclusive) on, or from now without one.
// dropAfter closes the first connection abruptly after that many events.
type fakeJetstream struct {
	mu        sync.Mutex
	events    []string // JSON, in time order
	times     []int64
	cursors   []string // cursor asked for by each connection
	dropAfter int
	conns     int
}

func (f *fakeJetstream) add(timeUS int64, json string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events, f.times = append(f.events, json), append(f.times, timeUS)
}

func (f *fakeJetstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("wantedCollections") != postCollection {
		http.Error(w, "want wantedCollections=app.bsky.feed.post", http.StatusBadRequest)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	f.mu.Lock()
	cursor := r.URL.Query().Get("cursor")
	f.cursors = append(f.cursors, cursor)
	f.conns++
	first := f.conns == 1
	from, _ := strconv.ParseInt(cursor, 10, 64)
	var send []string
	for i, t := range f.times {
		if t >= from {
			send = append(send, f.events[i])
		}
	}
	f.mu.Unlock()
	for i, e := range send {
		if first && f.dropAfter > 0 && i == f.dropAfter {
			return // a dropped connection, no close frame
		}
		if err := c.Write(r.Context(), websocket.MessageText, []byte(e)); err != nil {
			return
		}
	}
	<-r.Context().Done()
}

func (f *fakeJetstream) askedCursors() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cursors...)
}

// recorder is a Sink that keeps what it was given.
type recorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *recorder) Ingest(_ context.Context, ms []*fbv1.Mention) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range ms {
		r.ids = append(r.ids, m.PlatformId)
	}
	return nil
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

func postJSON(timeUS int64, did, rkey, text string, mentions string) string {
	facets := ""
	if mentions != "" {
		facets = fmt.Sprintf(`,"facets":[{"index":{"byteStart":0,"byteEnd":5},"features":[{"$type":"app.bsky.richtext.facet#mention","did":%q}]}]`, mentions)
	}
	return fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":%q,"record":{"$type":"app.bsky.feed.post","createdAt":"2025-11-24T16:00:00Z","text":%q%s},"cid":"c"}}`,
		did, timeUS, rkey, text, facets)
}

func start(t *testing.T, url string, cursor *stream.Cursor, sink Sink, now time.Time) (*Jetstream, *stream.Runner) {
	t.Helper()
	cfg := Config{URL: url, Brands: "acme=did:plc:acmebrand", Retention: 24 * time.Hour, CursorEvery: time.Hour}
	j, err := NewJetstream(cfg, sink, cursor, slog.New(slog.DiscardHandler), noop.Meter{})
	if err != nil {
		t.Fatal(err)
	}
	j.clock = clocktest.New(now)
	r := &stream.Runner{Name: "bluesky", Session: j.Session, Log: slog.New(slog.DiscardHandler), MinBackoff: time.Millisecond}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return j, r
}

func TestJetstreamResumesAfterDropAndRestartWithoutGapsOrDuplicates(t *testing.T) {
	client, keys := storetest.New(t)
	cursor := &stream.Cursor{Redis: client, Key: keys.Global("cursor", "bluesky")}
	base := time.Date(2025, 11, 24, 16, 0, 0, 0, time.UTC).UnixMicro()
	fake := &fakeJetstream{dropAfter: 2}
	fake.add(base+1, postJSON(base+1, "did:plc:dan", "a1", "@acme down again", "did:plc:acmebrand"))
	fake.add(base+2, postJSON(base+2, "did:plc:eve", "b1", "nice weather", ""))
	fake.add(base+3, postJSON(base+3, "did:plc:dan", "a2", "@acme still down", "did:plc:acmebrand"))
	srv := httptest.NewServer(fake)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/subscribe"

	sink := &recorder{}
	_, runner := start(t, url, cursor, sink, time.UnixMicro(base))
	testkit.Eventually(t, "both mentions after the drop", func() bool { return len(sink.got()) == 2 })
	if err := runner.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sink.got(), ","); got != "did:plc:dan/a1,did:plc:dan/a2" {
		t.Fatalf("mentions %s", got)
	}
	asked := fake.askedCursors()
	if len(asked) != 2 || asked[0] != "" || asked[1] != strconv.FormatInt(base+2, 10) {
		t.Fatalf("cursors asked %q: want none, then the last event seen before the drop", asked)
	}
	if v, _ := cursor.Load(context.Background()); v != strconv.FormatInt(base+3, 10) {
		t.Fatalf("saved cursor %s", v)
	}

	// A restart (a new process) resumes from the saved cursor.
	fake.add(base+4, postJSON(base+4, "did:plc:dan", "a3", "@acme third time", "did:plc:acmebrand"))
	sink2 := &recorder{}
	j2, runner2 := start(t, url, cursor, sink2, time.UnixMicro(base))
	defer runner2.Stop(context.Background())
	testkit.Eventually(t, "the post after the restart", func() bool { return strings.Contains(strings.Join(sink2.got(), ","), "a3") })
	if got := strings.Join(sink2.got(), ","); got != "did:plc:dan/a2,did:plc:dan/a3" {
		t.Fatalf("after restart got %s: want the boundary event again (dropped by ingest's dedup) and the new one", got)
	}
	if j2.Gaps() != 0 {
		t.Fatal("a fresh cursor reported a gap")
	}
}

func TestJetstreamReportsAGapWhenTheCursorIsOlderThanRetention(t *testing.T) {
	client, keys := storetest.New(t)
	cursor := &stream.Cursor{Redis: client, Key: keys.Global("cursor", "bluesky")}
	old := time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)
	if err := cursor.Save(context.Background(), strconv.FormatInt(old.UnixMicro(), 10)); err != nil {
		t.Fatal(err)
	}
	fake := &fakeJetstream{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	j, runner := start(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/subscribe", cursor, &recorder{}, old.Add(48*time.Hour))
	defer runner.Stop(context.Background())
	testkit.Eventually(t, "a connection", func() bool { return len(fake.askedCursors()) == 1 })
	if j.Gaps() != 1 {
		t.Fatalf("gaps reported %d, want 1", j.Gaps())
	}
}
