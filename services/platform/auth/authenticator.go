package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/reload"
)

// MaxTokenBytes bounds a presented token before any work is done on it;
// real ID tokens are a few kilobytes.
const MaxTokenBytes = 16 << 10

// Why a call was refused. The gRPC and HTTP adapters map them to
// Unauthenticated/401, PermissionDenied/403 and Unavailable/503.
var (
	errMissing     = errors.New("no credentials")
	errInvalid     = errors.New("credentials refused")
	errDenied      = errors.New("permission denied")
	errUnavailable = errors.New("cannot check credentials now")
)

// HowToAuthenticate ends every Unauthenticated message, so whoever reads
// it knows what to do next.
const HowToAuthenticate = "send 'Authorization: Bearer TOKEN' with an API key (an admin makes one with `firebreak token new`) " +
	"or an ID token from your identity provider; the firebreak CLI reads FIREBREAK_TOKEN or --token-file"

// Options configure an Authenticator. With neither a keys file nor an
// issuer every call is refused: there is no anonymous mode.
type Options struct {
	// KeysFile is the API keys file (see ParseKeys); "" accepts no keys.
	KeysFile string
	// KeysCheckInterval is how often the keys file is checked for changes
	// (default 10s).
	KeysCheckInterval time.Duration
	// OIDC, if its Issuer is set, accepts ID tokens from that provider.
	OIDC OIDC
	// Logger reports a keys file that stopped parsing.
	Logger *slog.Logger
}

// Authenticator turns a bearer token into an Identity.
type Authenticator struct {
	keys  *reload.File[Keys]
	oidc  *oidcVerifier
	clock clock.Clock
}

// New reads the keys file and prepares the OIDC verifier. A keys file that
// does not parse is an error here, at start-up; later it keeps the last
// good keys and logs the problem.
func New(opts Options) (*Authenticator, error) {
	a := &Authenticator{clock: clock.System{}}
	if opts.KeysFile != "" {
		every := opts.KeysCheckInterval
		if every <= 0 {
			every = 10 * time.Second
		}
		log := opts.Logger
		if log == nil {
			log = slog.Default()
		}
		kf, err := reload.Open(opts.KeysFile, every, loadKeys, func(err error) {
			log.Error("keys file changed but cannot be used; keeping the previous keys", "err", err)
		}, time.Now())
		if err != nil {
			return nil, err
		}
		a.keys = kf
	}
	if opts.OIDC.Issuer != "" {
		if opts.OIDC.Audience == "" {
			return nil, fmt.Errorf("an OIDC issuer needs an audience (the client id its tokens are issued to)")
		}
		a.oidc = newOIDCVerifier(opts.OIDC)
	}
	return a, nil
}

// Accepts reports whether any credential could pass: false means every
// call will be refused, which services log at start-up.
func (a *Authenticator) Accepts() bool { return a != nil && (a.keys != nil || a.oidc != nil) }

// Verify returns who presented token. API keys are looked up first (one
// hash); a token shaped like a JWT then goes to the identity provider.
func (a *Authenticator) Verify(ctx context.Context, token string) (Identity, error) {
	if token == "" {
		return Identity{}, fmt.Errorf("%w: %s", errMissing, HowToAuthenticate)
	}
	if len(token) > MaxTokenBytes {
		return Identity{}, fmt.Errorf("%w: the token is longer than %d bytes", errInvalid, MaxTokenBytes)
	}
	if !a.Accepts() {
		return Identity{}, fmt.Errorf("%w: this server accepts no credentials yet; its operator must set --auth-keys-file or --oidc-issuer", errInvalid)
	}
	now := a.clock.Now()
	if a.keys != nil {
		if id, ok := a.keys.Current(now).Lookup(token); ok {
			return id, nil
		}
	}
	if a.oidc != nil && looksLikeJWT(token) {
		return a.oidc.verify(ctx, token, now)
	}
	return Identity{}, fmt.Errorf("%w: unknown API key; %s", errInvalid, HowToAuthenticate)
}
