package console

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// maxBoard bounds the cases read into the queue, so a runaway backlog
// cannot exhaust the console's memory; the queue says when it is cut.
const maxBoard = 200_000

// watcher keeps the board current: it watches escalation's case events and
// reads every unresolved case again after each (re)connect and every
// Resync, since a watch misses what happens while it is down.
type watcher struct {
	s      *Service
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	live  bool
	since time.Time
	err   error
}

// Start begins watching in the background.
func (w *watcher) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go w.run(ctx)
	return nil
}

// Stop ends the watch and every live page's event stream, so the HTTP
// server can drain.
func (w *watcher) Stop(ctx context.Context) error {
	w.s.hub.close()
	if w.cancel == nil {
		return nil
	}
	w.cancel()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop the case watch: %w", ctx.Err())
	}
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.done)
	wait := 200 * time.Millisecond
	for ctx.Err() == nil {
		err := w.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		if w.down(err) {
			wait = 200 * time.Millisecond // it was live: this is a new outage
		}
		w.s.d.Tel.Logger.Warn("case watch interrupted; reconnecting", "err", err, "in", wait.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
}

// follow watches until the stream breaks. The watch is opened first and the
// listing read after, so nothing that happens in between is missed.
func (w *watcher) follow(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := w.s.escalation.WatchCases(ctx, &fbv1.WatchCasesRequest{}, w.s.calls)
	if err != nil {
		return fmt.Errorf("watch case events at %s: %w", w.s.cfg.EscalationAddr, err)
	}
	if _, err := stream.Header(); err != nil {
		return fmt.Errorf("watch case events at %s: %w", w.s.cfg.EscalationAddr, err)
	}
	if err := w.load(ctx); err != nil {
		return err
	}
	w.up()
	events := make(chan *fbv1.CaseEvent)
	failed := make(chan error, 1)
	go func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				failed <- err
				return
			}
			select {
			case events <- resp.Event:
			case <-ctx.Done():
				return
			}
		}
	}()
	resync := time.NewTicker(w.s.cfg.Resync)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-failed:
			return fmt.Errorf("case events from %s: %w", w.s.cfg.EscalationAddr, err)
		case e := <-events:
			if w.s.board.Apply(e.GetCase()) {
				w.s.hub.publish(e.GetCase().GetId())
			}
		case <-resync.C:
			if err := w.load(ctx); err != nil {
				return err
			}
		}
	}
}

// load reads every open and acknowledged case into the board.
func (w *watcher) load(ctx context.Context) error {
	mark := w.s.board.Mark()
	var all []*fbv1.Case
	for _, state := range []fbv1.CaseState{fbv1.CaseState_CASE_STATE_OPEN, fbv1.CaseState_CASE_STATE_ACKNOWLEDGED} {
		token := ""
		for len(all) < maxBoard {
			callCtx, cancel := context.WithTimeout(ctx, w.s.cfg.CallTimeout)
			resp, err := w.s.escalation.ListCases(callCtx, &fbv1.ListCasesRequest{State: state, PageSize: 500, PageToken: token}, w.s.calls)
			cancel()
			if err != nil {
				return fmt.Errorf("list cases at %s: %w", w.s.cfg.EscalationAddr, err)
			}
			all = append(all, resp.Cases...)
			if token = resp.NextPageToken; token == "" {
				break
			}
		}
	}
	if len(all) >= maxBoard {
		w.s.d.Tel.Logger.Warn("more unresolved cases than the queue holds; the oldest listed last are left out", "limit", maxBoard)
	}
	w.s.board.Load(all, mark)
	w.s.hub.publish("")
	return nil
}

func (w *watcher) up() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.live, w.err = true, nil
}

// down records an outage and reports whether the watch was live before it.
func (w *watcher) down(err error) (wasLive bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wasLive = w.live
	if w.live || w.since.IsZero() {
		w.since = time.Now()
	}
	w.live, w.err = false, err
	return wasLive
}

// status is "" while the queue is live, else what people should know.
func (w *watcher) status() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.live:
		return ""
	case w.err == nil:
		return "Connecting to escalation; the queue fills in a moment."
	}
	return fmt.Sprintf("Live updates paused since %s: escalation cannot be reached (%v). The queue may be out of date; it catches up on reconnect.",
		w.since.UTC().Format("15:04:05 UTC"), w.err)
}

// hub tells live pages that cases changed. A signal carries no data: the
// page fetches what it shows, so a slow page only ever has one signal
// waiting, however many changes it missed.
type hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed chan struct{}
	once   sync.Once
}

type subscriber struct {
	caseID  string // "" follows every case
	changed chan struct{}
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}, closed: make(chan struct{})} }

// maxLivePages bounds the event streams served at once.
const maxLivePages = 2000

func (h *hub) subscribe(caseID string) (*subscriber, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= maxLivePages {
		return nil, false
	}
	s := &subscriber{caseID: caseID, changed: make(chan struct{}, 1)}
	h.subs[s] = struct{}{}
	return s, true
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// publish signals the pages following caseID; "" signals every page.
func (h *hub) publish(caseID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if caseID == "" || s.caseID == "" || s.caseID == caseID {
			select {
			case s.changed <- struct{}{}:
			default: // one signal already waits
			}
		}
	}
}

func (h *hub) close() { h.once.Do(func() { close(h.closed) }) }

// Live pages hear of changes at most this often, so a burst of events
// costs one redraw.
const (
	liveCoalesce  = 150 * time.Millisecond
	liveHeartbeat = 20 * time.Second
)

// events serves server-sent events: "changed" whenever the queue (or, with
// ?case=ID, that case) changed. The page then fetches its fragment again.
func (s *Service) events(w http.ResponseWriter, r *http.Request) {
	caseID := r.URL.Query().Get("case")
	if len(caseID) > maxCaseIDLength {
		http.Error(w, "case id too long", http.StatusBadRequest)
		return
	}
	sub, ok := s.hub.subscribe(caseID)
	if !ok {
		http.Error(w, "too many live pages are open; reload the page later", http.StatusServiceUnavailable)
		return
	}
	defer s.hub.unsubscribe(sub)
	rc := http.NewResponseController(w)
	// The server's write timeout is for pages; a stream lives on.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	heartbeat := time.NewTicker(liveHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.hub.closed:
			return
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": still here\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-sub.changed:
			select {
			case <-time.After(liveCoalesce):
			case <-r.Context().Done():
				return
			}
			select {
			case <-sub.changed:
			default:
			}
			if _, err := fmt.Fprint(w, "event: changed\ndata: changed\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
