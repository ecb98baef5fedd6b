// Package console is the console service: the web pages a paged person
// opens (the queue, a case with everything known about it, and the actions
// to take it). It is a client of escalation and the notifier over gRPC like
// any other, and keeps no record of its own: its queue is a cache of
// escalation's cases, rebuilt at start and kept current from WatchCases.
package console

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/console/queue"
	"github.com/firebreak/firebreak/services/console/signin"
	"github.com/firebreak/firebreak/services/console/ui"
	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
	"github.com/firebreak/firebreak/services/platform/rpc"
)

// Config is the console's configuration.
type Config struct {
	config.Common
	// EscalationAddr and NotifierAddr are the gRPC addresses of the
	// services the console reads and acts through.
	EscalationAddr string
	NotifierAddr   string
	// ScorerAddr is the scorer's gRPC address, for trying a mention
	// against the policy.
	ScorerAddr string
	// PublicURL is where people reach the console; https makes cookies
	// Secure and turns on HSTS.
	PublicURL string
	// LocalUser and LocalRole are the one account of local mode.
	LocalUser string
	LocalRole string
	// SessionKeyFile holds the key that signs sessions and form tokens.
	SessionKeyFile string
	// Resync is how often the queue is read again in full from escalation,
	// besides every reconnect of the watch.
	Resync time.Duration
	// CallTimeout bounds each call to escalation or the notifier.
	CallTimeout time.Duration
	// TokenFile holds the API key the console presents to escalation and
	// the notifier to read cases and deliveries (a viewer or service key).
	// In local mode the local account's actions are made with it too, so
	// its key's name is what the timeline records.
	TokenFile string
	// Token, when set, is used instead of TokenFile: for a stack run in
	// one process, which makes its key in memory.
	Token string
	// TraceURLTemplate links each timeline entry to its trace in the
	// tracing UI: {trace_id} is replaced by the entry's W3C trace id.
	TraceURLTemplate string
	// OIDCClientSecretFile holds the console's client secret at the
	// identity provider (--oidc-issuer; the client id is --oidc-audience).
	OIDCClientSecretFile string
}

// Register declares the flags.
func (c *Config) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, "console", ":8085", ":9095")
	fs.StringVar(&c.EscalationAddr, "escalation-addr", "127.0.0.1:9093", "gRPC address of the escalation service")
	fs.StringVar(&c.NotifierAddr, "notifier-addr", "127.0.0.1:9094", "gRPC address of the notifier service")
	fs.StringVar(&c.ScorerAddr, "scorer-addr", "127.0.0.1:9091", "gRPC address of the scorer, which scores a mention an admin tries against the policy")
	fs.StringVar(&c.PublicURL, "public-url", "", "the console's address as people reach it, e.g. https://firebreak.example.com (https makes cookies Secure)")
	fs.StringVar(&c.LocalUser, "local-user", "", "local mode: everyone is signed in as this one account (for a laptop; `make run` sets it)")
	fs.StringVar(&c.LocalRole, "local-role", "admin", "local mode: the local account's role: viewer, responder or admin")
	fs.StringVar(&c.SessionKeyFile, "session-key-file", "", "file with the key (32+ bytes) that signs sessions and form tokens; replicas must share it (default: a random key per process)")
	fs.DurationVar(&c.Resync, "resync-interval", 5*time.Minute, "how often the queue is read again in full from escalation")
	fs.DurationVar(&c.CallTimeout, "call-timeout", 5*time.Second, "bound on each call to escalation or the notifier")
	fs.StringVar(&c.OIDCClientSecretFile, "oidc-client-secret-file", "", "file with the console's client secret at the identity provider (sign-in with --oidc-issuer; the client id is --oidc-audience)")
	fs.StringVar(&c.TraceURLTemplate, "trace-url-template", "", "link each timeline entry to its trace in your tracing UI: a URL with {trace_id}, e.g. https://tempo.example.com/trace/{trace_id}")
	fs.StringVar(&c.TokenFile, "token-file", "", "file with the API key the console presents to escalation and the notifier (roles viewer or service; in local mode, the local account's key, with responder to act)")
}

// Validate reports every invalid setting.
func (c *Config) Validate() error {
	var p config.Problems
	p.Merge(c.Common.Validate())
	p.Check(c.EscalationAddr != "", "escalation-addr", "is empty; set escalation's gRPC address, e.g. firebreak-escalation:9093")
	p.Check(c.NotifierAddr != "", "notifier-addr", "is empty; set the notifier's gRPC address, e.g. firebreak-notifier:9094")
	switch {
	case c.LocalUser != "":
		// Local mode, even when an issuer is set for the API.
	case c.Auth.OIDCIssuer == "":
		p.Add("local-user", "and --oidc-issuer are both empty, so nobody could sign in: set --oidc-issuer (with --oidc-audience, --public-url) for people, or a local account name for a laptop")
	case !strings.HasPrefix(c.PublicURL, "https://") && !strings.HasPrefix(c.PublicURL, "http://127.0.0.1") && !strings.HasPrefix(c.PublicURL, "http://localhost"):
		p.Add("public-url", "must be the console's https:// address when people sign in with --oidc-issuer: the identity provider sends them back to PUBLIC_URL/auth/callback")
	}
	if _, err := signin.ParseRole(c.LocalRole); err != nil {
		p.Add("local-role", "must be viewer, responder or admin")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.Add("public-url", "must be an absolute http:// or https:// URL, e.g. https://firebreak.example.com")
		}
	}
	if t := c.TraceURLTemplate; t != "" {
		u, err := url.Parse(strings.ReplaceAll(t, "{trace_id}", "0"))
		p.Check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && strings.Contains(t, "{trace_id}"),
			"trace-url-template", "must be an absolute http:// or https:// URL containing {trace_id}, e.g. https://tempo.example.com/trace/{trace_id}")
	}
	p.Check(c.Resync >= 10*time.Second, "resync-interval", "must be at least 10s")
	p.Check(c.CallTimeout > 0, "call-timeout", "must be positive, e.g. 5s")
	p.Check(c.TokenFile != "" || c.Token != "", "token-file", "is empty; escalation and the notifier refuse calls without a key: make one with `firebreak token new` (roles viewer, or responder for local mode) and name its file here")
	return p.Err()
}

// Shared returns the common settings.
func (c *Config) Shared() *config.Common { return &c.Common }

// Escalation is what the console asks of escalation.
type Escalation interface {
	ListCases(ctx context.Context, in *fbv1.ListCasesRequest, opts ...grpc.CallOption) (*fbv1.ListCasesResponse, error)
	GetCase(ctx context.Context, in *fbv1.GetCaseRequest, opts ...grpc.CallOption) (*fbv1.GetCaseResponse, error)
	WatchCases(ctx context.Context, in *fbv1.WatchCasesRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[fbv1.WatchCasesResponse], error)
	AcknowledgeCase(ctx context.Context, in *fbv1.AcknowledgeCaseRequest, opts ...grpc.CallOption) (*fbv1.AcknowledgeCaseResponse, error)
	ResolveCase(ctx context.Context, in *fbv1.ResolveCaseRequest, opts ...grpc.CallOption) (*fbv1.ResolveCaseResponse, error)
	AssignCase(ctx context.Context, in *fbv1.AssignCaseRequest, opts ...grpc.CallOption) (*fbv1.AssignCaseResponse, error)
	ReopenCase(ctx context.Context, in *fbv1.ReopenCaseRequest, opts ...grpc.CallOption) (*fbv1.ReopenCaseResponse, error)
	SnoozeCase(ctx context.Context, in *fbv1.SnoozeCaseRequest, opts ...grpc.CallOption) (*fbv1.SnoozeCaseResponse, error)
	UnsnoozeCase(ctx context.Context, in *fbv1.UnsnoozeCaseRequest, opts ...grpc.CallOption) (*fbv1.UnsnoozeCaseResponse, error)
	ExplainDecision(ctx context.Context, in *fbv1.ExplainDecisionRequest, opts ...grpc.CallOption) (*fbv1.ExplainDecisionResponse, error)
	EvaluatePolicy(ctx context.Context, in *fbv1.EvaluatePolicyRequest, opts ...grpc.CallOption) (*fbv1.EvaluatePolicyResponse, error)
	GetInsights(ctx context.Context, in *fbv1.GetInsightsRequest, opts ...grpc.CallOption) (*fbv1.GetInsightsResponse, error)
	GetPolicyStatus(ctx context.Context, in *fbv1.GetPolicyStatusRequest, opts ...grpc.CallOption) (*fbv1.GetPolicyStatusResponse, error)
}

// Deliveries is what the console asks of the notifier.
type Deliveries interface {
	ListDeliveries(ctx context.Context, in *fbv1.ListDeliveriesRequest, opts ...grpc.CallOption) (*fbv1.ListDeliveriesResponse, error)
	GetDeliveryStats(ctx context.Context, in *fbv1.GetDeliveryStatsRequest, opts ...grpc.CallOption) (*fbv1.GetDeliveryStatsResponse, error)
}

// Service is a running console.
type Service struct {
	cfg Config
	// calls carries the console's own key on every call.
	calls      grpc.CallOption
	d          *deps.Deps
	escalation Escalation
	notifier   Deliveries
	scorer     Scorer
	conns      []*grpc.ClientConn
	board      *queue.Board
	hub        *hub
	watch      *watcher
	gate       *signin.Gate
	pages      *ui.Pages
	clock      clock.Clock
	*lifecycle.Unit
}

// New builds the service and binds its ports.
func New(ctx context.Context, cfg Config, d *deps.Deps) (*Service, error) {
	// Credentials go with each call, not the connection: reads carry the
	// console's key, and a person's action carries the person's. TLS is
	// --tls-ca's (and mutual TLS with --tls-cert), as for any service.
	esc, err := rpc.DialTLS(cfg.EscalationAddr, "", d.ClientTLS)
	if err != nil {
		return nil, err
	}
	notif, err := rpc.DialTLS(cfg.NotifierAddr, "", d.ClientTLS)
	if err != nil {
		_ = esc.Close()
		return nil, err
	}
	scorer, err := rpc.DialTLS(cfg.ScorerAddr, "", d.ClientTLS)
	if err != nil {
		_, _ = esc.Close(), notif.Close()
		return nil, err
	}
	s, err := build(cfg, d, fbv1.NewEscalationServiceClient(esc), fbv1.NewNotifierServiceClient(notif))
	if err != nil {
		_, _, _ = esc.Close(), notif.Close(), scorer.Close()
		return nil, err
	}
	s.scorer = fbv1.NewScorerServiceClient(scorer)
	s.conns = []*grpc.ClientConn{esc, notif, scorer}
	return s, nil
}

// build wires the service around its clients.
func build(cfg Config, d *deps.Deps, esc Escalation, notif Deliveries) (*Service, error) {
	role, err := signin.ParseRole(cfg.LocalRole)
	if err != nil {
		return nil, err
	}
	token := cfg.Token
	if token == "" {
		if token, err = config.ReadSecret(cfg.TokenFile); err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
	}
	key := signin.NewKey()
	if cfg.SessionKeyFile != "" {
		secret, err := config.ReadSecret(cfg.SessionKeyFile)
		if err != nil {
			return nil, err
		}
		key = []byte(secret)
	}
	opts := signin.Options{Key: key, Secure: strings.HasPrefix(cfg.PublicURL, "https://")}
	if cfg.LocalUser != "" {
		opts.Local = &signin.Person{Name: cfg.LocalUser, Role: role, Method: "local"}
	} else {
		secret := ""
		if cfg.OIDCClientSecretFile != "" {
			if secret, err = config.ReadSecret(cfg.OIDCClientSecretFile); err != nil {
				return nil, fmt.Errorf("--oidc-client-secret-file: %w", err)
			}
		}
		opts.OIDC = &signin.Provider{Issuer: cfg.Auth.OIDCIssuer, ClientID: cfg.Auth.OIDCAudience, ClientSecret: secret,
			RedirectURL: strings.TrimRight(cfg.PublicURL, "/") + signin.CallbackPath, Identify: identify(d.Auth)}
	}
	gate, err := signin.New(opts)
	if err != nil {
		return nil, fmt.Errorf("--session-key-file: %w", err)
	}
	pages, err := ui.Load()
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, d: d, escalation: esc, notifier: notif, board: queue.New(), hub: newHub(),
		gate: gate, pages: pages, clock: clock.System{}, calls: grpc.PerRPCCredentials(auth.Token(token))}
	s.watch = &watcher{s: s}
	u, err := lifecycle.Listen(cfg.HTTPAddr, cfg.GRPCAddr, d)
	if err != nil {
		return nil, err
	}
	s.Unit = u
	u.HTTP.Handle("/", s.routes())
	u.Workers = append(u.Workers, s.watch)
	return s, nil
}

// identify checks an ID token exactly as escalation will and names the
// person with the highest console role it grants.
func identify(a *auth.Authenticator) func(ctx context.Context, idToken string) (signin.Person, error) {
	return func(ctx context.Context, idToken string) (signin.Person, error) {
		id, err := a.Verify(ctx, idToken)
		if err != nil {
			return signin.Person{}, fmt.Errorf("the ID token was refused: %w", err)
		}
		for _, r := range []auth.Role{auth.Admin, auth.Responder, auth.Viewer} {
			if id.Has(r) {
				return signin.Person{Name: id.Name, Role: signin.Role(r), Method: auth.MethodOIDC}, nil
			}
		}
		return signin.Person{}, fmt.Errorf("%s has none of the console's roles (viewer, responder, admin); ask an admin to grant one", id.Name)
	}
}

// Stop drains the servers and workers, then closes the client connections.
func (s *Service) Stop(ctx context.Context) error {
	err := s.Unit.Stop(ctx)
	for _, c := range s.conns {
		err = errors.Join(err, c.Close())
	}
	return err
}

// routes are the console's pages, behind the security headers and the
// sign-in gate.
func (s *Service) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", ui.Static()))
	mux.HandleFunc("GET /{$}", s.queuePage)
	mux.HandleFunc("GET /cases/{id}", s.casePage)
	mux.HandleFunc("POST /cases/{id}/acknowledge", s.acknowledge)
	mux.HandleFunc("POST /cases/{id}/resolve", s.resolve)
	mux.HandleFunc("POST /cases/{id}/assign", s.assign)
	mux.HandleFunc("POST /cases/{id}/reopen", s.reopen)
	mux.HandleFunc("POST /cases/{id}/snooze", s.snooze)
	mux.HandleFunc("POST /cases/{id}/unsnooze", s.unsnooze)
	mux.HandleFunc("GET /events", s.events)
	mux.HandleFunc("GET /insights", s.insightsPage)
	mux.HandleFunc("GET /policy", s.policyPage)
	mux.HandleFunc("POST /policy/try", s.tryMention)
	mux.HandleFunc("POST /signout", s.signOut)
	return secure(strings.HasPrefix(s.cfg.PublicURL, "https://"), s.gate.Wrap(mux))
}

// secure sets the headers every response carries: no framing, no sniffing,
// no referrer to the posts people open, scripts and styles only from the
// console itself, nothing cached.
func secure(https bool, next http.Handler) http.Handler {
	const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		if https {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}
