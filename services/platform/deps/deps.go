// Package deps opens what every service stands on (telemetry, NATS with its
// streams, Redis) from the common settings, and closes them in order.
package deps

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/firebreak/firebreak/services/platform/admin"
	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/telemetry"
	"github.com/firebreak/firebreak/services/platform/trouble"
)

// Deps are a service's connections.
type Deps struct {
	Tel       *telemetry.Telemetry
	NC        *nats.Conn
	JS        jetstream.JetStream
	Publisher *bus.Publisher
	Names     bus.Names
	Redis     redis.UniversalClient
	Keys      store.Keys
	// Trouble tells the other services that this one saw the bus or the
	// store fail (see package trouble).
	Trouble *trouble.Board
	// Auth authenticates the callers of the service's APIs.
	Auth *auth.Authenticator
	// ServerTLS is the gRPC server's TLS (nil: plain text) and ClientTLS
	// that of the gRPC calls the service makes (nil: plain text).
	ServerTLS, ClientTLS *tls.Config

	streamMetrics metric.Registration
}

// Open connects everything and ensures the streams exist.
func Open(ctx context.Context, c config.Common, tel *telemetry.Telemetry) (*Deps, error) {
	d := &Deps{Tel: tel, Names: bus.Names{Prefix: c.SubjectPrefix, Partitions: c.MentionPartitions}, Keys: store.Keys{Prefix: c.RedisPrefix}}
	authn, err := Authenticator(c.Auth, tel.Logger)
	if err != nil {
		return nil, err
	}
	d.Auth = authn
	if d.ServerTLS, err = (rpc.TLSFiles{Cert: c.TLS.Cert, Key: c.TLS.Key, ClientCA: c.TLS.ClientCA}).ServerConfig(); err != nil {
		return nil, fmt.Errorf("gRPC server TLS (--tls-cert, --tls-key, --tls-client-ca): %w", err)
	}
	calls := rpc.ClientTLS{CA: c.TLS.CA, ServerName: c.TLS.ServerName}
	if c.TLS.CA != "" {
		calls.Cert, calls.Key = c.TLS.Cert, c.TLS.Key
	}
	if d.ClientTLS, err = calls.Config(); err != nil {
		return nil, fmt.Errorf("gRPC client TLS (--tls-ca, --tls-cert, --tls-key): %w", err)
	}
	if err := d.openNATS(ctx, c); err != nil {
		return nil, err
	}
	redisOpts := store.Options{URL: c.RedisURL, MasterName: c.RedisMaster}
	if c.RedisAddrs != "" {
		redisOpts.Addrs = strings.Split(c.RedisAddrs, ",")
	}
	if c.RedisPassFile != "" {
		pass, err := config.ReadSecret(c.RedisPassFile)
		if err != nil {
			d.NC.Close()
			return nil, err
		}
		redisOpts.Password = pass
	}
	client, err := store.Open(ctx, redisOpts)
	if err != nil {
		d.NC.Close()
		return nil, err
	}
	d.Redis = client
	d.Trouble = trouble.New(client, d.Keys, tel.Logger)
	return d, nil
}

func (d *Deps) openNATS(ctx context.Context, c config.Common) error {
	opts := []nats.Option{
		nats.Name("firebreak-" + c.Service),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				d.Tel.Logger.Warn("NATS disconnected; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { d.Tel.Logger.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) {
				d.Tel.Logger.Error("NATS refused a publish or subscription: this service's NATS user may not use the subject (see bus.Names.Permissions)", "user", c.NATSUser, "err", err)
				return
			}
			d.Tel.Logger.Warn("NATS error", "err", err)
		}),
	}
	if c.NATSCredsFile != "" {
		opts = append(opts, nats.UserCredentials(c.NATSCredsFile))
	}
	if c.NATSUser != "" {
		pass, err := config.ReadSecret(c.NATSPassFile)
		if err != nil {
			return fmt.Errorf("--nats-password-file: %w", err)
		}
		// Replies come to the service's own inbox, the only one its user
		// may subscribe to (bus.Names.Permissions).
		opts = append(opts, nats.UserInfo(c.NATSUser, pass), nats.CustomInboxPrefix(d.Names.Inbox(c.NATSUser)))
	}
	if c.NATSTLSCAFile != "" {
		opts = append(opts, nats.RootCAs(c.NATSTLSCAFile))
	}
	nc, err := nats.Connect(c.NATSURL, opts...)
	if errors.Is(err, nats.ErrAuthorization) {
		return fmt.Errorf("log in to NATS at %s as %q: %w; check --nats-user and the password in --nats-password-file (or --nats-creds-file) against the server's users", config.Redacted(c.NATSURL), c.NATSUser, err)
	}
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w; start nats-server -js or set FIREBREAK_NATS_URL", config.Redacted(c.NATSURL), err)
	}
	js, err := bus.NewJetStream(nc, bus.PublishAckTimeout)
	if err != nil {
		nc.Close()
		return fmt.Errorf("JetStream on %s: %w", config.Redacted(c.NATSURL), err)
	}
	if err := d.streams(ctx, c, js); err != nil {
		nc.Close()
		return err
	}
	reg, err := bus.ObserveStreams(d.Tel.Meter.Meter("firebreak/bus"), js, d.Names)
	if err != nil {
		nc.Close()
		return err
	}
	d.NC, d.JS, d.streamMetrics = nc, js, reg
	d.Publisher = bus.NewPublisher(js, d.Tel.Propagator, d.Tel.Tracer)
	return nil
}

// streams makes sure the streams exist. The stream owner creates or updates
// them; with a NATS user of its own any other service may not, and waits
// for them. Without one (a shared credential) every service creates them.
func (d *Deps) streams(ctx context.Context, c config.Common, js jetstream.JetStream) error {
	if c.NATSUser != "" && c.NATSUser != bus.StreamOwner {
		return bus.AwaitStreams(ctx, js, d.Names, d.Tel.Logger)
	}
	opts := bus.StreamOptions{Replicas: c.StreamReplicas, MaxBytes: c.StreamMaxBytes, ScaleDown: c.StreamScaleDown, Logger: d.Tel.Logger}
	if err := bus.EnsureStreams(ctx, js, d.Names, opts); err != nil {
		return fmt.Errorf("%w; is JetStream enabled on the server (nats-server -js), and may this NATS user create streams (only %s's may)?", err, bus.StreamOwner)
	}
	return nil
}

// Authenticator builds the authenticator the settings describe. Without a
// keys file or an issuer it refuses every caller, and says so in the log.
func Authenticator(c config.Auth, log *slog.Logger) (*auth.Authenticator, error) {
	roleMap, err := auth.ParseRoleMap(c.OIDCRoleMap)
	if err != nil {
		return nil, fmt.Errorf("--oidc-role-map: %w", err)
	}
	a, err := auth.New(auth.Options{KeysFile: c.KeysFile, Logger: log, OIDC: auth.OIDC{
		Issuer: c.OIDCIssuer, Audience: c.OIDCAudience, RolesClaim: c.OIDCRolesClaim, RoleMap: roleMap,
		BrandsClaim: c.OIDCBrandsClaim, ClockSkew: c.OIDCClockSkew,
	}})
	if err != nil {
		return nil, fmt.Errorf("authentication (--auth-keys-file, --oidc-*): %w", err)
	}
	if !a.Accepts() {
		log.Warn("no --auth-keys-file or --oidc-issuer: every API call except health will be refused")
	}
	return a, nil
}

// Close drains NATS (flushing anything still buffered), closes Redis and
// flushes telemetry: the last steps of a graceful drain.
func (d *Deps) Close(ctx context.Context) error {
	var errs []error
	if d.streamMetrics != nil {
		errs = append(errs, d.streamMetrics.Unregister())
	}
	if d.NC != nil {
		drained := make(chan struct{})
		d.NC.SetClosedHandler(func(*nats.Conn) { close(drained) })
		if err := d.NC.Drain(); err != nil {
			d.NC.Close()
		} else {
			select {
			case <-drained:
			case <-ctx.Done():
				d.NC.Close()
				errs = append(errs, fmt.Errorf("drain NATS: %w", ctx.Err()))
			}
		}
	}
	if d.Redis != nil {
		errs = append(errs, d.Redis.Close())
	}
	errs = append(errs, d.Tel.Shutdown(ctx))
	return errors.Join(errs...)
}

// Ready reports whether NATS and Redis are usable, for /readyz.
func (d *Deps) Ready(ctx context.Context) error {
	if st := d.NC.Status(); st != nats.CONNECTED {
		return &admin.Down{Dependency: "NATS", Err: fmt.Errorf("connection is %s", st)}
	}
	if err := d.Redis.Ping(ctx).Err(); err != nil {
		return &admin.Down{Dependency: "Redis", Err: err}
	}
	return nil
}
