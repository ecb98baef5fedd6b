// Package signin says who is using the console and what they may do, and
// guards its forms. A person arrives with a signed session cookie; every
// form carries a token bound to that session (and the browser's own
// cross-origin signals are checked as well), so another site cannot act in
// their name. With no identity provider configured the console runs in
// local mode: everyone is the one local account, and the pages say so.
package signin

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/firebreak/firebreak/services/platform/clock"
)

// Role is what a person may do in the console.
type Role string

// The roles, each including the ones before it.
const (
	// Viewer reads the queue, cases, insights and the policy.
	Viewer Role = "viewer"
	// Responder also acknowledges and resolves cases.
	Responder Role = "responder"
	// Admin also tries mentions against the policy.
	Admin Role = "admin"
)

var rank = map[Role]int{Viewer: 1, Responder: 2, Admin: 3}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if rank[r] == 0 {
		return "", fmt.Errorf("unknown role %q; the console's roles are viewer, responder and admin", s)
	}
	return r, nil
}

// Person is who is signed in.
type Person struct {
	Name string `json:"n"`
	Role Role   `json:"r"`
	// Method is how they signed in: "local" or "oidc".
	Method string `json:"m"`
}

// Can reports whether p holds role or one that includes it.
func (p Person) Can(role Role) bool { return rank[p.Role] >= rank[role] }

// Why says why p cannot do what needs role, for a disabled button.
func (p Person) Why(role Role) string {
	return fmt.Sprintf("%s is signed in as a %s; this needs a %s", p.Name, p.Role, role)
}

// session is what the cookie carries, signed.
type session struct {
	ID     string `json:"id"`
	Person Person `json:"p"`
	// Token is the person's ID token with OIDC: their credential for
	// escalation. Empty in local mode.
	Token   string `json:"t,omitempty"`
	Expires int64  `json:"exp"`
}

// Gate signs people in and checks every form.
type Gate struct {
	key     []byte
	local   *Person
	oidc    *Provider
	secure  bool
	ttl     time.Duration
	clock   clock.Clock
	origins *http.CrossOriginProtection
}

// Options configure a Gate.
type Options struct {
	// Key signs sessions and form tokens; at least 32 bytes. Replicas must
	// share it, or a person's session ends when their next request lands
	// on another replica.
	Key []byte
	// Local, when set, is the one account of local mode.
	Local *Person
	// OIDC, when set, signs people in with an identity provider.
	OIDC *Provider
	// Secure marks cookies Secure; set it whenever the console is served
	// over HTTPS.
	Secure bool
	// TTL is how long a session lasts (default 12h).
	TTL time.Duration
}

// CookieName is the session cookie.
const CookieName = "firebreak_session"

// New builds a Gate.
func New(opts Options) (*Gate, error) {
	if len(opts.Key) < 32 {
		return nil, errors.New("the session key must be at least 32 bytes")
	}
	if (opts.Local == nil) == (opts.OIDC == nil) {
		return nil, errors.New("sign-in needs exactly one of an identity provider or a local account")
	}
	g := &Gate{key: opts.Key, local: opts.Local, oidc: opts.OIDC, secure: opts.Secure, ttl: opts.TTL, clock: clock.System{},
		origins: http.NewCrossOriginProtection()}
	if g.ttl <= 0 {
		g.ttl = 12 * time.Hour
	}
	return g, nil
}

// NewKey returns a random session key, for a single replica that was given
// none.
func NewKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// LocalMode reports whether the console runs with the local account.
func (g *Gate) LocalMode() bool { return g.local != nil }

type ctxKey struct{}

// signedIn is a request's person and session.
type signedIn struct {
	person     Person
	token      string
	credential string
}

// Wrap makes sure every request has a session and a person, and refuses
// state-changing requests from other origins or without the session's
// form token.
func (g *Gate) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.oidc != nil && r.URL.Path == CallbackPath && r.Method == http.MethodGet {
			g.callback(w, r)
			return
		}
		s, ok := g.read(r)
		switch {
		case ok:
		case g.local != nil:
			s = g.start(w)
		case strings.HasPrefix(r.URL.Path, "/static/"):
			next.ServeHTTP(w, r)
			return
		case r.Method == http.MethodGet && r.URL.Path != "/events" && r.URL.Query().Get("fragment") == "":
			g.begin(w, r)
			return
		case r.Method == http.MethodPost:
			// The session ended while a form was open: nothing is done, and
			// the person goes back, through sign-in, to the page the form
			// was on, which says so.
			http.Redirect(w, r, returnPath(r.URL.Path)+"?"+ExpiredParam+"=1", http.StatusSeeOther)
			return
		default:
			http.Error(w, "not signed in, or the session ended: reload the page to sign in", http.StatusUnauthorized)
			return
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, signedIn{person: s.Person, token: g.token(s.ID), credential: s.Token})
		r = r.WithContext(ctx)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
			if err := g.origins.Check(r); err != nil {
				http.Error(w, "refused: this form was sent from another site", http.StatusForbidden)
				return
			}
			if !g.validToken(s.ID, r.PostFormValue(TokenField)) {
				http.Error(w, "refused: the form's security token is missing or stale; reload the page and try again", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// start begins a session for the local account.
func (g *Gate) start(w http.ResponseWriter) session {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	s := session{ID: base64.RawURLEncoding.EncodeToString(id), Person: *g.local, Expires: g.clock.Now().Add(g.ttl).Unix()}
	g.setSession(w, s)
	return s
}

func (g *Gate) setSession(w http.ResponseWriter, s session) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: g.sign(s), Path: "/", HttpOnly: true, Secure: g.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.Expires - g.clock.Now().Unix())})
}

// read returns the request's session if its cookie is genuine and current.
// In local mode the person is always the local account, whatever an older
// cookie says.
func (g *Gate) read(r *http.Request) (session, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil || len(c.Value) > 4096 {
		return session{}, false
	}
	payload, mac, ok := strings.Cut(c.Value, ".")
	if !ok {
		return session{}, false
	}
	want := g.mac("session", payload)
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !equalMAC(got, want) {
		return session{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return session{}, false
	}
	var s session
	if json.Unmarshal(raw, &s) != nil || s.ID == "" || g.clock.Now().Unix() >= s.Expires {
		return session{}, false
	}
	if g.local != nil {
		s.Person = *g.local
	}
	return s, true
}

func equalMAC(a, b []byte) bool { return hmac.Equal(a, b) }

func (g *Gate) sign(s session) string {
	raw, _ := json.Marshal(s)
	payload := base64.RawURLEncoding.EncodeToString(raw)
	return payload + "." + base64.RawURLEncoding.EncodeToString(g.mac("session", payload))
}

func (g *Gate) mac(purpose, data string) []byte {
	h := hmac.New(sha256.New, g.key)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(data))
	return h.Sum(nil)
}

// MaxFormBytes bounds a form's body before it is read.
const MaxFormBytes = 64 << 10

// TokenField is the form field that carries the form token.
const TokenField = "csrf"

// Token is the form token of the request's session.
func Token(r *http.Request) string {
	s, _ := r.Context().Value(ctxKey{}).(signedIn)
	return s.token
}

func (g *Gate) token(sessionID string) string {
	return base64.RawURLEncoding.EncodeToString(g.mac("form", sessionID))
}

func (g *Gate) validToken(sessionID, got string) bool {
	want := g.token(sessionID)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Credential is the signed-in person's own credential (their ID token), or
// "" in local mode, where the console acts with its own key.
func Credential(r *http.Request) string {
	s, _ := r.Context().Value(ctxKey{}).(signedIn)
	return s.credential
}

// From returns the person signed in on the request.
func From(r *http.Request) (Person, bool) {
	s, ok := r.Context().Value(ctxKey{}).(signedIn)
	return s.person, ok
}

// ExpiredParam marks a page reached again after a session ended with a
// form open.
const ExpiredParam = "expired"

// returnPath is the page a form at path was on: its parent
// (/cases/X/acknowledge is on /cases/X).
func returnPath(path string) string {
	i := strings.LastIndex(path, "/")
	if i <= 0 {
		return "/"
	}
	return localPath(path[:i])
}

// SignOut ends the request's session in this browser.
func (g *Gate) SignOut(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: g.secure, SameSite: http.SameSiteLaxMode})
}
