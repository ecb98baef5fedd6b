// Package config reads a service's settings from flags, with environment
// variables (FIREBREAK_<NAME>) as the fallback, and reports every invalid
// setting at once, naming the setting and the fix.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// ByteBudgets are stream byte budgets by noun, as a flag:
// "mentions=20GiB,cases=2GiB". A size is bytes, or a number with KiB, MiB,
// GiB or TiB.
type ByteBudgets map[string]int64

func (b ByteBudgets) String() string {
	parts := make([]string, 0, len(b))
	for _, noun := range bus.Nouns {
		if n, ok := b[noun]; ok {
			parts = append(parts, fmt.Sprintf("%s=%d", noun, n))
		}
	}
	return strings.Join(parts, ",")
}

// Set parses a list of noun=size.
func (b ByteBudgets) Set(v string) error {
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		noun, size, ok := strings.Cut(item, "=")
		if !ok || !slices.Contains(bus.Nouns, noun) {
			return fmt.Errorf("%q is not noun=size with a noun of %s, e.g. mentions=20GiB", item, strings.Join(bus.Nouns, ", "))
		}
		n, err := ParseBytes(size)
		if err != nil {
			return fmt.Errorf("%s: %w", noun, err)
		}
		b[noun] = n
	}
	return nil
}

// ParseBytes reads a size: "1048576", "512MiB", "20GiB".
func ParseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}, {"", 0}}
	for _, u := range units {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || n < 1 || n > (1<<62)>>u.shift {
			break
		}
		return n << u.shift, nil
	}
	return 0, fmt.Errorf("size %q is not a positive number of bytes, KiB, MiB, GiB or TiB, e.g. 512MiB", s)
}

// Version is the build's version, set with -ldflags "-X ...config.Version=v1.2.3".
var Version = "dev"

// EnvName is the environment variable that backs a flag: "redis-url" is
// FIREBREAK_REDIS_URL.
func EnvName(flagName string) string {
	return "FIREBREAK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// MaxMentionPartitions bounds --mention-partitions: each partition is a
// stream with a consumer per consuming service, and past a stream per
// core of the broker more only costs memory.
const MaxMentionPartitions = 64

// Common holds the settings every service has.
type Common struct {
	Service       string
	NATSURL       string
	NATSCredsFile string
	NATSUser      string
	NATSPassFile  string
	NATSTLSCAFile string
	RedisURL      string
	RedisAddrs    string
	RedisMaster   string
	RedisPassFile string
	RedisPrefix   string
	// RedisDurability is store.DurabilityRequire (also when empty) or
	// store.DurabilityAcceptLoss; only the services that ack what Redis
	// holds (escalation, notifier) register and check it.
	RedisDurability string
	SubjectPrefix   string
	// MentionPartitions is how many streams the mentions are split over
	// by author (bus.Names.Partitions); every service must agree.
	MentionPartitions int
	StreamReplicas    int
	// StreamMaxBytes overrides streams' byte budgets by noun
	// (bus.DefaultLimits otherwise).
	StreamMaxBytes ByteBudgets
	// StreamScaleDown lets replicas and budgets lower an existing stream's.
	StreamScaleDown bool
	HTTPAddr        string
	GRPCAddr        string
	LogLevel        string
	ShutdownTimeout time.Duration
	// Auth says whose credentials the service's APIs accept.
	Auth Auth
	// TLS is the gRPC server's TLS and that of the calls it makes.
	TLS TLS
}

// TLS names the PEM files for gRPC over TLS (package rpc re-reads them when
// they change, so renewed certificates need no restart).
type TLS struct {
	// Cert and Key are served by the gRPC server and, with CA, presented
	// as the client certificate on calls to other services.
	Cert, Key string
	// ClientCA makes the server require client certificates it signed.
	ClientCA string
	// CA verifies the servers this service calls; setting it turns TLS on
	// for those calls.
	CA         string
	ServerName string
}

// Auth holds the settings for authenticating callers (package auth).
type Auth struct {
	KeysFile        string
	OIDCIssuer      string
	OIDCAudience    string
	OIDCRolesClaim  string
	OIDCRoleMap     string
	OIDCBrandsClaim string
	OIDCClockSkew   time.Duration
}

// Register declares the common flags on fs, with a service's default ports.
func (c *Common) Register(fs *flag.FlagSet, service, httpAddr, grpcAddr string) {
	c.Service = service
	fs.StringVar(&c.NATSURL, "nats-url", "nats://127.0.0.1:4222", "NATS server URL(s), comma separated")
	fs.StringVar(&c.NATSCredsFile, "nats-creds-file", "", "NATS credentials file (optional)")
	fs.StringVar(&c.NATSUser, "nats-user", "", "NATS user of this service (with --nats-password-file); its permissions are the service's own subjects")
	fs.StringVar(&c.NATSPassFile, "nats-password-file", "", "file holding the password of --nats-user")
	fs.StringVar(&c.NATSTLSCAFile, "nats-tls-ca-file", "", "CA bundle to verify the NATS server's TLS certificate (optional)")
	fs.StringVar(&c.RedisURL, "redis-url", "redis://127.0.0.1:6379/0", "Redis URL (redis:// or rediss:// for TLS); with --redis-addrs only its scheme, ACL user and password are used")
	fs.StringVar(&c.RedisAddrs, "redis-addrs", "", "comma-separated Redis addresses for Sentinel or Cluster")
	fs.StringVar(&c.RedisMaster, "redis-master-name", "", "Sentinel master name (with --redis-addrs)")
	fs.StringVar(&c.RedisPassFile, "redis-password-file", "", "file holding the Redis password (overrides one in --redis-url)")
	fs.StringVar(&c.RedisPrefix, "redis-key-prefix", "firebreak:", "prefix of every Redis key")
	fs.StringVar(&c.SubjectPrefix, "subject-prefix", "firebreak", "prefix of every NATS subject and stream")
	fs.IntVar(&c.MentionPartitions, "mention-partitions", 1, "streams the mentions are split over by a hash of the author, so that JetStream's fsyncs run side by side (1: one stream, FIREBREAK_MENTIONS); every service must run with the same value, and one that differs from the streams' refuses to start")
	fs.IntVar(&c.StreamReplicas, "stream-replicas", 1, "JetStream replicas for the streams this service creates (3 in production); an existing stream with more keeps them unless --stream-scale-down")
	c.StreamMaxBytes = ByteBudgets{}
	fs.Var(c.StreamMaxBytes, "stream-max-bytes", "disk budgets of streams, e.g. 'mentions=20GiB,cases=2GiB' (nouns: "+strings.Join(bus.Nouns, ", ")+"; deadletter sets each service's dead-letter stream); unset ones keep their defaults")
	fs.BoolVar(&c.StreamScaleDown, "stream-scale-down", false, "let --stream-replicas and --stream-max-bytes lower an existing stream's (off: the larger is kept)")
	fs.StringVar(&c.HTTPAddr, "http-addr", httpAddr, "address of the HTTP server (health, readiness, metrics)")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", grpcAddr, "address of the gRPC server")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 25*time.Second, "bound on the graceful drain after SIGTERM")
	fs.StringVar(&c.Auth.KeysFile, "auth-keys-file", "", "file of accepted API keys, one 'NAME:sha256:HEX roles=ROLE[,ROLE] [brands=B]' a line; re-read when it changes")
	fs.StringVar(&c.Auth.OIDCIssuer, "oidc-issuer", "", "issuer URL of the identity provider whose ID tokens are accepted (optional)")
	fs.StringVar(&c.Auth.OIDCAudience, "oidc-audience", "", "client id the ID tokens must be issued to (with --oidc-issuer)")
	fs.StringVar(&c.Auth.OIDCRolesClaim, "oidc-roles-claim", "roles", "ID token claim listing the caller's roles or groups")
	fs.StringVar(&c.Auth.OIDCRoleMap, "oidc-role-map", "", "groups that grant roles, e.g. 'social-oncall=responder,sre=admin' (a claim value that is a role name counts as is)")
	fs.StringVar(&c.Auth.OIDCBrandsClaim, "oidc-brands-claim", "", "ID token claim listing the brands an ingest identity may submit for (optional)")
	fs.DurationVar(&c.Auth.OIDCClockSkew, "oidc-clock-skew", time.Minute, "how far the identity provider's clock may differ from ours on exp and nbf")
	fs.StringVar(&c.TLS.Cert, "tls-cert", "", "PEM certificate the gRPC server serves, and presents to the services it calls when --tls-ca is set; re-read when it changes")
	fs.StringVar(&c.TLS.Key, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&c.TLS.ClientCA, "tls-client-ca", "", "PEM CA bundle that callers' client certificates must chain to; setting it requires mutual TLS on gRPC")
	fs.StringVar(&c.TLS.CA, "tls-ca", "", "PEM CA bundle that verifies the gRPC servers this service calls; setting it calls them over TLS")
	fs.StringVar(&c.TLS.ServerName, "tls-server-name", "", "name to verify in the certificates of the servers this service calls (default: the host dialled)")
}

// RegisterRedisDurability declares --redis-durability, for the services
// that acknowledge messages once Redis holds what they caused.
func (c *Common) RegisterRedisDurability(fs *flag.FlagSet) {
	fs.StringVar(&c.RedisDurability, "redis-durability", "require", "'require': refuse to start when Redis runs without appendonly (a Redis restart would lose joins, chain timers and held pages); 'accept-loss': start anyway, with a warning")
}

// Validate reports every problem with the common settings.
func (c *Common) Validate() error {
	var p Problems
	p.Check(c.NATSURL != "", "nats-url", "is empty; set it to the NATS server, e.g. nats://127.0.0.1:4222")
	if c.RedisAddrs == "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
			p.Add("redis-url", "must be a redis://, rediss:// or unix:// URL, e.g. redis://127.0.0.1:6379/0")
		}
	}
	p.Check((c.NATSUser == "") == (c.NATSPassFile == ""), "nats-password-file",
		"and --nats-user go together; set both (the service's NATS user and the file holding its password) or neither")
	p.Check(c.NATSUser == "" || c.NATSCredsFile == "", "nats-creds-file",
		"and --nats-user are two ways to log in to NATS; set one")
	p.Check(validSubjectToken(c.SubjectPrefix), "subject-prefix", "must be one NATS subject token of letters, digits, '-' or '_'")
	p.Check(c.RedisDurability == "" || c.RedisDurability == "require" || c.RedisDurability == "accept-loss", "redis-durability", "must be require or accept-loss")
	p.Check(c.StreamReplicas >= 1 && c.StreamReplicas <= 5, "stream-replicas", "must be between 1 and 5")
	p.Check(c.MentionPartitions >= 1 && c.MentionPartitions <= MaxMentionPartitions, "mention-partitions", fmt.Sprintf("must be between 1 and %d, the same for every service", MaxMentionPartitions))
	p.Check(c.HTTPAddr != "", "http-addr", "is empty; set a listen address such as :8080")
	p.Check(c.GRPCAddr != "", "grpc-addr", "is empty; set a listen address such as :9090")
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		p.Add("log-level", "must be debug, info, warn or error")
	}
	p.Check(c.ShutdownTimeout > 0, "shutdown-timeout", "must be positive, e.g. 25s")
	c.Auth.validate(&p)
	p.Check((c.TLS.Cert == "") == (c.TLS.Key == ""), "tls-key", "and --tls-cert go together: set both (a certificate and its key) or neither")
	p.Check(c.TLS.ClientCA == "" || c.TLS.Cert != "", "tls-client-ca", "needs --tls-cert and --tls-key: mutual TLS is served over the server's own certificate")
	return p.Err()
}

func (a Auth) validate(p *Problems) {
	if a.OIDCIssuer == "" {
		return
	}
	u, err := url.Parse(a.OIDCIssuer)
	loopback := err == nil && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost" || u.Hostname() == "::1")
	p.Check(err == nil && (u.Scheme == "https" || u.Scheme == "http" && loopback) && u.Host != "", "oidc-issuer",
		"must be the provider's https:// issuer URL, exactly as in its tokens' iss claim")
	p.Check(a.OIDCAudience != "", "oidc-audience", "is required with --oidc-issuer: the client id Firebreak's tokens are issued to")
	p.Check(a.OIDCRolesClaim != "", "oidc-roles-claim", "is empty; name the claim that lists roles or groups, e.g. roles or groups")
	p.Check(a.OIDCClockSkew >= 0 && a.OIDCClockSkew <= 5*time.Minute, "oidc-clock-skew", "must be between 0 and 5m")
	if _, err := auth.ParseRoleMap(a.OIDCRoleMap); err != nil {
		p.Add("oidc-role-map", err.Error())
	}
}

func validSubjectToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Redacted returns a URL with any password replaced, for logging.
func Redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// ErrVersion is returned by Parse after printing the version for --version.
var ErrVersion = errors.New("version printed")

// Parse parses args into fs, then fills every flag not given on the command
// line from its environment variable. With --version it prints the version to
// out and returns ErrVersion.
func Parse(fs *flag.FlagSet, args []string, out io.Writer) error {
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *version {
		fmt.Fprintf(out, "%s %s\n", fs.Name(), Version)
		return ErrVersion
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var p Problems
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || f.Name == "version" {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if err := f.Value.Set(v); err != nil {
				p.Add(f.Name, fmt.Sprintf("from %s=%q: %v", EnvName(f.Name), v, err))
			}
		}
	})
	return p.Err()
}

// Problems collects invalid settings so that all of them are reported at once.
type Problems struct{ errs []error }

// Add records that setting is wrong and how to fix it.
func (p *Problems) Add(setting, fix string) {
	p.errs = append(p.errs, fmt.Errorf("--%s (%s) %s", setting, EnvName(setting), fix))
}

// Check records a problem when ok is false.
func (p *Problems) Check(ok bool, setting, fix string) {
	if !ok {
		p.Add(setting, fix)
	}
}

// Merge adds the problems in err, as returned by another Validate.
func (p *Problems) Merge(err error) {
	if err != nil {
		p.errs = append(p.errs, err)
	}
}

// Err returns nil or all problems joined.
func (p *Problems) Err() error { return errors.Join(p.errs...) }

// ReadSecret reads a secret from a file, trimming the trailing newline that
// editors and `kubectl create secret --from-file` leave behind.
func ReadSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret file %s: %w", path, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// Shared returns the common settings; service configs embed Common and so
// satisfy the interface that lifecycle.Main takes.
func (c *Common) Shared() *Common { return c }
