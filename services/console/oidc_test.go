package console

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
)

// provider is an identity provider on loopback that follows the OpenID
// Connect code flow: /auth sends the browser back with a code, /token
// trades the code for an ID token carrying the sign-in's nonce. Discovery
// and keys are go-oidc's oidctest server.
type provider struct {
	url    string
	key    *rsa.PrivateKey
	claims map[string]any
	issued func(idToken, name string)

	mu     sync.Mutex
	nonces map[string]string // code: nonce
}

func newProvider(t *testing.T, claims map[string]any, issued func(idToken, name string)) *provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{key: key, claims: claims, issued: issued, nonces: map[string]string{}}
	keys := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "k", Algorithm: oidc.RS256}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.Handle("/", keys)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	keys.SetIssuer(srv.URL)
	p.url = srv.URL
	return p
}

func (p *provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("client_id") != "console" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	code := "code-" + q.Get("state")
	p.mu.Lock()
	p.nonces[code] = q.Get("nonce")
	p.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *provider) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	p.mu.Lock()
	nonce, ok := p.nonces[r.PostForm.Get("code")]
	delete(p.nonces, r.PostForm.Get("code"))
	p.mu.Unlock()
	if !ok || r.PostForm.Get("code_verifier") == "" {
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	}
	claims := map[string]any{"iss": p.url, "aud": "console", "sub": "u-1", "nonce": nonce,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range p.claims {
		claims[k] = v
	}
	raw, _ := json.Marshal(claims)
	idToken := oidctest.SignIDToken(p.key, "k", oidc.RS256, string(raw))
	p.issued(idToken, p.claims["preferred_username"].(string))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": idToken})
}

func TestSignInWithTheIdentityProviderAndActAsThePerson(t *testing.T) {
	fake := newCases()
	fake.put(storyCase("c-1"), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	idp := newProvider(t, map[string]any{"preferred_username": "bea", "roles": []string{"responder"}}, func(tok, name string) {
		fake.mu.Lock()
		fake.keys[tok] = name // escalation accepts the person's ID token
		fake.mu.Unlock()
	})
	authn, err := auth.New(auth.Options{OIDC: auth.OIDC{Issuer: idp.url, Audience: "console"}})
	if err != nil {
		t.Fatal(err)
	}
	// The provider sends people back to the public URL, so the port is
	// chosen before the console binds it.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	cfg := Config{Common: config.Common{Service: "console", HTTPAddr: addr, GRPCAddr: "127.0.0.1:0",
		Auth: config.Auth{OIDCIssuer: idp.url, OIDCAudience: "console"}}, PublicURL: "http://" + addr,
		EscalationAddr: "fake", NotifierAddr: "fake", Token: testToken, LocalRole: "admin", Resync: time.Minute, CallTimeout: 5 * time.Second}
	// Sign-in is configured completely; Validate may only complain of what
	// this test leaves unset (NATS, Redis).
	if err := cfg.Validate(); err != nil && (strings.Contains(err.Error(), "--local-user") || strings.Contains(err.Error(), "--public-url")) {
		t.Fatalf("validate: %v", err)
	}
	cfg.PublicURL = ""
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--public-url") {
		t.Fatalf("OIDC without a public URL: %v", err)
	}
	cfg.PublicURL, cfg.Auth.OIDCIssuer = "http://"+addr, ""
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--local-user") {
		t.Fatalf("no way to sign in: %v", err)
	}
	cfg.Auth.OIDCIssuer = idp.url
	svc, err := build(cfg, &deps.Deps{Tel: telemetrytest.New(t, "console"), Auth: authn}, fake, fake)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	jar, _ := cookiejar.New(nil)
	con := &console{svc: svc, fake: fake, base: "http://" + svc.HTTPAddr(), client: &http.Client{Jar: jar}}

	code, page, _ := con.get(t, "/cases/c-1")
	if code != http.StatusOK || !strings.Contains(page, "bea · responder") || strings.Contains(page, "Local mode") {
		t.Fatalf("after signing in: %d, page names %q", code, between(page, `id="who">`, "<"))
	}
	con.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if code, _, _ := con.post(t, "/cases/c-1/acknowledge", url.Values{"csrf": {token(t, page)}, "note": {"mine"}}); code != http.StatusSeeOther {
		t.Fatalf("acknowledge: %d", code)
	}
	if acted := fake.acted(); len(acted) != 1 || !strings.Contains(acted[0], "by bea: mine") {
		t.Fatalf("escalation recorded %v, want the act under bea's own token", acted)
	}

	// Without a session, a page sends the browser to the provider and a
	// live fragment is refused rather than redirected.
	bare := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := bare.Get(con.base + "/cases/c-1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), idp.url+"/auth?") {
		t.Errorf("signed out: %d to %q, want the provider", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = bare.Get(con.base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("signed-out event stream: %d, want 401", resp.StatusCode)
	}
	// A form sent after the session ended changes nothing and goes back,
	// through sign-in, to its page, which says so.
	resp, err = bare.PostForm(con.base+"/cases/c-1/acknowledge", url.Values{"note": {"late"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/cases/c-1?expired=1" {
		t.Errorf("a form after the session ended: %d to %q, want /cases/c-1?expired=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, page, _ := con.get(t, "/cases/c-1?expired=1"); !strings.Contains(page, "Your session had ended, so nothing was changed") {
		t.Error("the page does not say the session had ended")
	}
	if acted := fake.acted(); len(acted) != 1 {
		t.Fatalf("a form without a session acted: %v", acted)
	}
	// Signing out ends the session in this browser: the next page goes to
	// the provider again.
	contains(t, page, `action="/signout"`)
	code, out, _ := con.post(t, "/signout", url.Values{"csrf": {token(t, page)}})
	if code != http.StatusOK || !strings.Contains(out, "You are signed out") {
		t.Fatalf("sign out: %d", code)
	}
	if code, _, h := con.get(t, "/cases/c-1"); code != http.StatusFound || !strings.HasPrefix(h.Get("Location"), idp.url+"/auth?") {
		t.Errorf("after signing out: %d to %q, want the provider", code, h.Get("Location"))
	}
	// A callback with a state this browser did not start is refused.
	resp, err = bare.Get(con.base + "/auth/callback?code=code-x&state=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged callback: %d, want 403", resp.StatusCode)
	}
}

func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}
