package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// OIDC says which identity provider's ID tokens are accepted and how roles
// are read from them.
type OIDC struct {
	// Issuer is the provider's issuer URL, as in its tokens' iss claim.
	Issuer string
	// Audience is the client id the tokens must be issued to (aud).
	Audience string
	// RolesClaim names the claim that lists the caller's roles or groups
	// ("roles" by default; "groups" for many providers).
	RolesClaim string
	// RoleMap maps a claim value (a group name) to a role; a value that is
	// itself a role name counts as that role.
	RoleMap map[string]Role
	// BrandsClaim, if set, names the claim listing the brands an ingest
	// identity may submit for.
	BrandsClaim string
	// ClockSkew is how far the provider's clock and ours may disagree on
	// expiry and not-before.
	ClockSkew time.Duration
	// HTTPClient fetches the discovery document and keys; nil is a client
	// with a 10s timeout.
	HTTPClient *http.Client
}

// rediscoverAfter bounds how often an unreachable provider is asked again,
// so a flood of tokens during an outage does not become a flood of
// requests to the provider.
const rediscoverAfter = 10 * time.Second

// oidcVerifier checks ID tokens against the provider's published keys. It
// discovers the provider on first use rather than at start-up, so a
// provider outage makes OIDC callers wait, not the services crash-loop.
type oidcVerifier struct {
	cfg OIDC

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	failedAt time.Time
	lastErr  error
}

func newOIDCVerifier(cfg OIDC) *oidcVerifier {
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &oidcVerifier{cfg: cfg}
}

func (v *oidcVerifier) get(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	if time.Since(v.failedAt) < rediscoverAfter {
		return nil, v.lastErr
	}
	// The provider keeps the context for fetching keys later; it must
	// outlive this request, and carry our HTTP client.
	provCtx := oidc.ClientContext(context.WithoutCancel(ctx), v.cfg.HTTPClient)
	discoverCtx, cancel := context.WithTimeout(provCtx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(discoverCtx, v.cfg.Issuer)
	if err != nil {
		v.failedAt, v.lastErr = time.Now(), fmt.Errorf("%w: identity provider %s is unreachable: %v", errUnavailable, v.cfg.Issuer, err)
		return nil, v.lastErr
	}
	// Expiry is checked below with our clock skew, since go-oidc allows
	// none on exp.
	v.verifier = p.VerifierContext(provCtx, &oidc.Config{ClientID: v.cfg.Audience, SkipExpiryCheck: true})
	return v.verifier, nil
}

// claims are the parts of an ID token we read.
type claims struct {
	Expiry            *json.Number `json:"exp"`
	NotBefore         *json.Number `json:"nbf"`
	PreferredUsername string       `json:"preferred_username"`
	Email             string       `json:"email"`
	Name              string       `json:"name"`
}

func (v *oidcVerifier) verify(ctx context.Context, raw string, now time.Time) (Identity, error) {
	verifier, err := v.get(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: ID token refused: %v", errInvalid, err)
	}
	var c claims
	all := map[string]json.RawMessage{}
	if err := tok.Claims(&c); err != nil {
		return Identity{}, fmt.Errorf("%w: ID token claims: %v", errInvalid, err)
	}
	if err := tok.Claims(&all); err != nil {
		return Identity{}, fmt.Errorf("%w: ID token claims: %v", errInvalid, err)
	}
	if err := v.checkTimes(c, now); err != nil {
		return Identity{}, err
	}
	id := Identity{Subject: tok.Subject, Name: firstNonEmpty(c.PreferredUsername, c.Email, c.Name, tok.Subject), Method: MethodOIDC}
	for _, value := range stringsClaim(all[v.cfg.RolesClaim]) {
		if role, ok := v.cfg.RoleMap[value]; ok {
			id.Roles = append(id.Roles, role)
		} else if role, err := ParseRole(value); err == nil {
			id.Roles = append(id.Roles, role)
		}
	}
	if v.cfg.BrandsClaim != "" {
		id.Brands = stringsClaim(all[v.cfg.BrandsClaim])
	}
	return id, nil
}

// checkTimes applies expiry and not-before with the configured skew. A
// token without exp is refused: an ID token that never expires is a
// credential nobody can take back.
func (v *oidcVerifier) checkTimes(c claims, now time.Time) error {
	if c.Expiry == nil {
		return fmt.Errorf("%w: ID token has no exp claim", errInvalid)
	}
	exp, err := c.Expiry.Float64()
	if err != nil {
		return fmt.Errorf("%w: ID token exp is not a number", errInvalid)
	}
	if expiry := time.Unix(int64(exp), 0); now.After(expiry.Add(v.cfg.ClockSkew)) {
		return fmt.Errorf("%w: ID token expired at %s; sign in again for a fresh one", errInvalid, expiry.UTC().Format(time.RFC3339))
	}
	if c.NotBefore != nil {
		nbf, err := c.NotBefore.Float64()
		if err != nil {
			return fmt.Errorf("%w: ID token nbf is not a number", errInvalid)
		}
		if notBefore := time.Unix(int64(nbf), 0); now.Add(v.cfg.ClockSkew).Before(notBefore) {
			return fmt.Errorf("%w: ID token is not valid before %s", errInvalid, notBefore.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// stringsClaim reads a claim that is a list of strings, one string, or a
// space-separated string (as "scope" is).
func stringsClaim(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return strings.Fields(one)
	}
	return nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// looksLikeJWT tells an ID token from an API key without parsing either:
// a JWT is three base64url parts separated by dots, and our keys have none.
func looksLikeJWT(token string) bool {
	return strings.Count(token, ".") == 2
}
