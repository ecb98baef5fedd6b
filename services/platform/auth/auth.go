// Package auth says who is calling a Firebreak API and whether they may.
// A caller presents a bearer token: an API key from the keys file (stored
// as digests) or an OIDC ID token from the organisation's identity
// provider. Either becomes an Identity with roles, and every gRPC method
// and HTTP API names the roles it needs. Health checks and the platforms'
// signed webhooks are the only things served without one.
package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Role is what a caller may do.
type Role string

// The roles. Admin includes responder, and responder includes viewer, so
// an on-call admin need not list all three; ingest and service stand apart.
const (
	// Viewer lists, reads, watches and explains cases.
	Viewer Role = "viewer"
	// Responder acknowledges and resolves cases.
	Responder Role = "responder"
	// Admin evaluates policies, tests receivers and reloads.
	Admin Role = "admin"
	// Ingest submits mentions for the brands its key names.
	Ingest Role = "ingest"
	// Service makes the internal calls one service or tool makes of another.
	Service Role = "service"
)

// Roles lists every role, in the order they are documented.
var Roles = []Role{Viewer, Responder, Admin, Ingest, Service}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q; the roles are viewer, responder, admin, ingest and service", s)
}

// How a caller authenticated, as recorded on the case timeline
// (CaseEvent.auth_method).
const (
	MethodAPIKey = "api-key"
	MethodOIDC   = "oidc"
)

// AllBrands in an identity's brands lets it act for every brand.
const AllBrands = "*"

// Identity is an authenticated caller.
type Identity struct {
	// Subject is stable and unique: "key:<name>" for an API key, the
	// issuer's subject for an OIDC token.
	Subject string
	// Name is what people read on a case's timeline: the key's name, or
	// the token's preferred_username, email or name.
	Name string
	// Roles as granted; Has applies the implications between them.
	Roles []Role
	// Brands an ingest identity may submit mentions for; AllBrands is every one.
	Brands []string
	// Method is how the caller authenticated: MethodAPIKey or MethodOIDC.
	Method string
}

// implied lists, for each role, the roles it includes.
var implied = map[Role][]Role{
	Admin:     {Responder, Viewer},
	Responder: {Viewer},
}

// Has reports whether the identity holds role, directly or through a role
// that includes it.
func (id Identity) Has(role Role) bool {
	for _, r := range id.Roles {
		if r == role || slices.Contains(implied[r], role) {
			return true
		}
	}
	return false
}

// HasAny reports whether the identity holds any of roles.
func (id Identity) HasAny(roles ...Role) bool {
	return slices.ContainsFunc(roles, id.Has)
}

// MayIngest reports whether the identity may submit mentions for brand.
func (id Identity) MayIngest(brand string) bool {
	return id.Has(Ingest) && (slices.Contains(id.Brands, AllBrands) || slices.Contains(id.Brands, brand))
}

// String names the identity for messages: "key ana", "oidc ana@example.com".
func (id Identity) String() string {
	switch id.Method {
	case MethodAPIKey:
		return "key " + id.Name
	case "":
		return id.Name
	}
	return id.Method + " " + id.Name
}

func (id Identity) roleList() string {
	if len(id.Roles) == 0 {
		return "no roles"
	}
	names := make([]string, len(id.Roles))
	for i, r := range id.Roles {
		names[i] = string(r)
	}
	return "roles " + strings.Join(names, ",")
}

type contextKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, contextKey{}, id)
}

// FromContext returns the caller authenticated for this request, if any.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(contextKey{}).(Identity)
	return id, ok
}

// ParseRoleMap reads "group=role,group=role", the groups of an identity
// provider that grant Firebreak roles.
func ParseRoleMap(s string) (map[string]Role, error) {
	out := map[string]Role{}
	for _, pair := range strings.Split(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		group, name, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(group) == "" {
			return nil, fmt.Errorf("entry %q must be GROUP=ROLE, e.g. social-oncall=responder", pair)
		}
		role, err := ParseRole(name)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", pair, err)
		}
		out[strings.TrimSpace(group)] = role
	}
	return out, nil
}
