// Package authtest gives tests credentials: a keys file with keys of the
// roles a test needs, and an OIDC identity provider that runs in the test's
// process with its own signing key, so nothing leaves the machine.
package authtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"

	"github.com/firebreak/firebreak/services/platform/auth"
)

// Key is one caller's key in a keys file.
type Key struct {
	Name   string
	Roles  []auth.Role
	Brands []string
	// Key is filled in by KeysFile.
	Key string
}

// KeysFile writes a keys file holding only digests of fresh keys for
// callers and returns its path; each caller's Key is filled in.
func KeysFile(t testing.TB, callers ...*Key) string {
	t.Helper()
	var b strings.Builder
	for _, c := range callers {
		key, err := auth.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		c.Key = key
		b.WriteString(auth.KeyLine(c.Name, key, c.Roles, c.Brands) + "\n")
	}
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Everyone is a key with every role and every brand: what a test uses when
// it is not about access.
func Everyone() *Key {
	return &Key{Name: "test", Roles: auth.Roles, Brands: []string{auth.AllBrands}}
}

// Issuer is an OIDC identity provider served on loopback.
type Issuer struct {
	URL string
	key *rsa.PrivateKey
}

const keyID = "authtest"

// NewIssuer starts an identity provider for the test.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	provider := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: keyID, Algorithm: oidc.RS256}}}
	srv := httptest.NewServer(provider)
	t.Cleanup(srv.Close)
	provider.SetIssuer(srv.URL)
	return &Issuer{URL: srv.URL, key: key}
}

// Claims are an ID token's claims; Token fills in iss, and exp and iat
// when they are zero.
type Claims map[string]any

// Token signs an ID token for audience with claims, valid for an hour
// unless claims set exp; a claim set to nil is left out.
func (i *Issuer) Token(t testing.TB, audience string, claims Claims) string {
	t.Helper()
	all := Claims{"iss": i.URL, "aud": audience, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		all[k] = v
		if v == nil {
			delete(all, k) // a test of a token without the claim
		}
	}
	raw, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	return oidctest.SignIDToken(i.key, keyID, oidc.RS256, string(raw))
}

// Stranger signs tokens with a key the issuer never published: a forgery
// that claims to come from it.
func (i *Issuer) Stranger(t testing.TB) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &Issuer{URL: i.URL, key: key}
}
