package signin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Provider signs people in with an OpenID Connect identity provider: the
// authorization code flow with PKCE, a state and a nonce. The ID token it
// returns is the person's credential: the console presents it to
// escalation, which checks it and records the person as the actor.
type Provider struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the console's callback, PUBLIC_URL/auth/callback.
	RedirectURL string
	// Identify checks an ID token as the services do and says who it
	// names and with which role; an error refuses the sign-in.
	Identify func(ctx context.Context, idToken string) (Person, error)
	// HTTPClient talks to the provider; nil is a client with a 10s timeout.
	HTTPClient *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
}

// CallbackPath is where the provider sends people back.
const CallbackPath = "/auth/callback"

// flowCookie holds a sign-in in progress.
const flowCookie = "firebreak_signin"

// flow is what the console remembers between sending a person to the
// provider and their return.
type flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"next"`
	Expires  int64  `json:"exp"`
}

// discover finds the provider's endpoints on first use, so a provider
// outage makes sign-ins wait rather than the console fail to start.
func (p *Provider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, nil
	}
	client := p.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, client), p.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover the identity provider at %s: %w", p.Issuer, err)
	}
	p.provider = op
	return op, nil
}

func (p *Provider) oauth(op *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.RedirectURL,
		Endpoint: op.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// begin sends the person to the provider, remembering where they were going.
func (g *Gate) begin(w http.ResponseWriter, r *http.Request) {
	op, err := g.oidc.discover(r.Context())
	if err != nil {
		http.Error(w, "Sign-in is unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	f := flow{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(), Next: localPath(r.URL.RequestURI()),
		Expires: g.clock.Now().Add(10 * time.Minute).Unix()}
	raw, _ := json.Marshal(f)
	payload := base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: payload + "." + base64.RawURLEncoding.EncodeToString(g.mac("flow", payload)),
		Path: CallbackPath, HttpOnly: true, Secure: g.secure, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	url := g.oidc.oauth(op).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	http.Redirect(w, r, url, http.StatusFound)
}

// callback finishes a sign-in: the state must match, the code is exchanged
// with the PKCE verifier, and the ID token must carry the nonce and pass
// the same checks the services make.
func (g *Gate) callback(w http.ResponseWriter, r *http.Request) {
	f, err := g.readFlow(r)
	if err == nil && r.URL.Query().Get("state") != f.State {
		err = errors.New("the sign-in's state does not match; start again")
	}
	if err == nil && r.URL.Query().Get("error") != "" {
		err = fmt.Errorf("the identity provider refused: %s", r.URL.Query().Get("error"))
	}
	var s session
	if err == nil {
		s, err = g.exchange(r.Context(), r.URL.Query().Get("code"), f)
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Path: CallbackPath, MaxAge: -1, HttpOnly: true, Secure: g.secure})
	if err != nil {
		http.Error(w, "Not signed in: "+err.Error(), http.StatusForbidden)
		return
	}
	g.setSession(w, s)
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

func (g *Gate) readFlow(r *http.Request) (flow, error) {
	c, err := r.Cookie(flowCookie)
	if err != nil || len(c.Value) > 4096 {
		return flow{}, errors.New("no sign-in in progress in this browser; start again")
	}
	payload, mac, _ := strings.Cut(c.Value, ".")
	got, err := base64.RawURLEncoding.DecodeString(mac)
	raw, err2 := base64.RawURLEncoding.DecodeString(payload)
	var f flow
	if err != nil || err2 != nil || !equalMAC(got, g.mac("flow", payload)) || json.Unmarshal(raw, &f) != nil || g.clock.Now().Unix() >= f.Expires {
		return flow{}, errors.New("the sign-in expired or was tampered with; start again")
	}
	return f, nil
}

func (g *Gate) exchange(ctx context.Context, code string, f flow) (session, error) {
	op, err := g.oidc.discover(ctx)
	if err != nil {
		return session{}, err
	}
	client := g.oidc.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	ctx = oidc.ClientContext(ctx, client)
	tok, err := g.oidc.oauth(op).Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return session{}, fmt.Errorf("exchange the sign-in code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return session{}, errors.New("the identity provider returned no ID token")
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: g.oidc.ClientID}).Verify(ctx, raw)
	if err != nil {
		return session{}, fmt.Errorf("the ID token is not valid: %w", err)
	}
	if idt.Nonce != f.Nonce {
		return session{}, errors.New("the ID token was not issued for this sign-in (nonce)")
	}
	person, err := g.oidc.Identify(ctx, raw)
	if err != nil {
		return session{}, err
	}
	// The session ends with the ID token: escalation would refuse it after.
	expires := min(g.clock.Now().Add(g.ttl).Unix(), idt.Expiry.Unix())
	return session{ID: random(), Person: person, Token: raw, Expires: expires}, nil
}

// localPath keeps a return address on this site: a path, never a URL to
// another host.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.HasPrefix(p, CallbackPath) {
		return "/"
	}
	return p
}
