// Package chattest is a fake Bluesky PDS for tests of the chat poller. It
// answers the calls the poller makes as the lexicons define them:
// com.atproto.server.createSession and refreshSession, and, proxied to the
// chat service (Atproto-Proxy), chat.bsky.convo.listConvos, getConvo and
// getLog, whose log holds the lexicon's entry types in rev order.
package chattest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Service is the chat service the fake expects in Atproto-Proxy.
const Service = "did:web:api.bsky.chat#bsky_chat"

// PDS is the fake. Its log pages are small, to exercise paging.
type PDS struct {
	URL                            string
	Identifier, Password, BrandDID string
	// ExpireEvery makes the access token expire after that many chat
	// calls (0: never), as a real one does after a couple of hours.
	ExpireEvery int

	mu       sync.Mutex
	log      []entry
	convos   map[string][]string // id -> member DIDs
	groups   map[string]bool
	access   string
	refresh  string
	issued   int
	calls    int
	Logins   int
	Refreshs int
	Cursors  []string // cursor asked for by each getLog
}

type entry struct {
	rev, convo string
	json       string
}

// New starts a fake PDS for the brand account identifier/password.
func New(t testing.TB, identifier, password, brandDID string) *PDS {
	p := &PDS{Identifier: identifier, Password: password, BrandDID: brandDID, convos: map[string][]string{}, groups: map[string]bool{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Convo declares a direct conversation between the brand and other.
func (p *PDS) Convo(id, other string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.convos[id] = []string{p.BrandDID, other}
}

// Group declares a group conversation.
func (p *PDS) Group(id string, members ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.convos[id] = append([]string{p.BrandDID}, members...)
	p.groups[id] = true
}

// Message appends a logCreateMessage entry.
func (p *PDS) Message(convo, id, sender, text string) {
	p.add(convo, func(rev string) string {
		return fmt.Sprintf(`{"$type":"chat.bsky.convo.defs#logCreateMessage","rev":%q,"convoId":%q,"message":{"$type":"chat.bsky.convo.defs#messageView","id":%q,"rev":%q,"text":%q,"sender":{"did":%q},"sentAt":"2026-11-23T10:00:00.000Z"},"relatedProfiles":[{"did":%q,"handle":"%s.bsky.social","displayName":"Someone"}]}`,
			rev, convo, id, rev, text, sender, sender, strings.ReplaceAll(sender, ":", "-"))
	})
}

// Deleted appends a logCreateMessage whose message was deleted since.
func (p *PDS) Deleted(convo, id, sender string) {
	p.add(convo, func(rev string) string {
		return fmt.Sprintf(`{"$type":"chat.bsky.convo.defs#logCreateMessage","rev":%q,"convoId":%q,"message":{"$type":"chat.bsky.convo.defs#deletedMessageView","id":%q,"rev":%q,"sender":{"did":%q},"sentAt":"2026-11-23T10:00:00.000Z"}}`,
			rev, convo, id, rev, sender)
	})
}

// Other appends an entry of another type, e.g. logAcceptConvo.
func (p *PDS) Other(convo, typ string) {
	p.add(convo, func(rev string) string {
		return fmt.Sprintf(`{"$type":"chat.bsky.convo.defs#%s","rev":%q,"convoId":%q}`, typ, rev, convo)
	})
}

func (p *PDS) add(convo string, render func(rev string) string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rev := fmt.Sprintf("3lchat%07d", len(p.log)+1) // revs sort as strings
	p.log = append(p.log, entry{rev: rev, convo: convo, json: render(rev)})
}

// AskedCursors is the cursor of every getLog call so far.
func (p *PDS) AskedCursors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.Cursors...)
}

func (p *PDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	nsid := strings.TrimPrefix(r.URL.Path, "/xrpc/")
	switch nsid {
	case "com.atproto.server.createSession":
		var in struct{ Identifier, Password string }
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&in) != nil {
			xrpcErr(w, http.StatusBadRequest, "InvalidRequest", "POST identifier and password")
			return
		}
		if in.Identifier != p.Identifier || in.Password != p.Password {
			xrpcErr(w, http.StatusUnauthorized, "AuthenticationRequired", "Invalid identifier or password")
			return
		}
		p.Logins++
		p.issue(w)
	case "com.atproto.server.refreshSession":
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+p.refresh {
			xrpcErr(w, http.StatusBadRequest, "ExpiredToken", "Token has expired")
			return
		}
		p.Refreshs++
		p.issue(w)
	case "chat.bsky.convo.listConvos", "chat.bsky.convo.getConvo", "chat.bsky.convo.getLog":
		if r.Header.Get("Atproto-Proxy") != Service {
			xrpcErr(w, http.StatusBadRequest, "InvalidRequest", "chat calls are proxied to "+Service)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+p.access || p.access == "" {
			xrpcErr(w, http.StatusBadRequest, "ExpiredToken", "Token has expired")
			return
		}
		p.calls++
		if p.ExpireEvery > 0 && p.calls%p.ExpireEvery == 0 {
			p.access = "" // expires now: this and later calls fail until renewed
			xrpcErr(w, http.StatusBadRequest, "ExpiredToken", "Token has expired")
			return
		}
		p.chat(w, r, nsid)
	default:
		xrpcErr(w, http.StatusNotImplemented, "MethodNotImplemented", nsid)
	}
}

func (p *PDS) issue(w http.ResponseWriter) {
	p.issued++
	p.access, p.refresh = fmt.Sprintf("access-%d", p.issued), fmt.Sprintf("refresh-%d", p.issued)
	_ = json.NewEncoder(w).Encode(map[string]any{"did": p.BrandDID, "handle": p.Identifier, "accessJwt": p.access, "refreshJwt": p.refresh, "active": true})
}

func (p *PDS) chat(w http.ResponseWriter, r *http.Request, nsid string) {
	q := r.URL.Query()
	switch nsid {
	case "chat.bsky.convo.listConvos":
		var convos []map[string]any
		for i := len(p.log) - 1; i >= 0 && len(convos) == 0; i-- { // newest first
			convos = append(convos, p.view(p.log[i].convo, p.log[i].rev))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"convos": convos})
	case "chat.bsky.convo.getConvo":
		if _, ok := p.convos[q.Get("convoId")]; !ok {
			xrpcErr(w, http.StatusBadRequest, "InvalidConvo", "Convo not found")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"convo": p.view(q.Get("convoId"), "")})
	case "chat.bsky.convo.getLog":
		cursor := q.Get("cursor")
		p.Cursors = append(p.Cursors, cursor)
		logs, next := []json.RawMessage{}, cursor
		for _, e := range p.log {
			if e.rev > cursor && len(logs) < 2 {
				logs, next = append(logs, json.RawMessage(e.json)), e.rev
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"logs": logs, "cursor": next})
	}
}

// view is a convoView.
func (p *PDS) view(id, rev string) map[string]any {
	var members []map[string]any
	for _, did := range p.convos[id] {
		members = append(members, map[string]any{"did": did, "handle": strings.ReplaceAll(did, ":", "-") + ".bsky.social"})
	}
	kind := "chat.bsky.convo.defs#directConvo"
	if p.groups[id] {
		kind = "chat.bsky.convo.defs#groupConvo"
	}
	return map[string]any{"id": id, "rev": rev, "members": members, "muted": false, "unreadCount": 0, "kind": map[string]any{"$type": kind}}
}

func xrpcErr(w http.ResponseWriter, code int, name, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": name, "message": msg})
}
