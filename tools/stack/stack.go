// Package stack runs all six Firebreak services in one process, each with
// its own connections, exactly as they run apart. `make run`, the end-to-end
// tests and the load tools use it.
package stack

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/firebreak/firebreak/services/console"
	"github.com/firebreak/firebreak/services/escalation"
	"github.com/firebreak/firebreak/services/ingest"
	"github.com/firebreak/firebreak/services/notifier"
	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
	"github.com/firebreak/firebreak/services/platform/telemetry"
	"github.com/firebreak/firebreak/services/reach"
	"github.com/firebreak/firebreak/services/scorer"
)

// ProfileLabel is the profiler label each service's goroutines carry, with
// the service's name, so a CPU profile of the whole stack splits by service.
const ProfileLabel = "service"

// Options say where the shared infrastructure is and how to set each service.
type Options struct {
	// Common are flags every service gets (--nats-url, --redis-url, ...).
	Common []string
	// Flags are extra flags per service name.
	Flags map[string][]string
	// Telemetry makes each service's telemetry.
	Telemetry func(service string) (*telemetry.Telemetry, error)
	// KeysFile is the API keys file every service accepts. Empty makes a
	// throwaway one holding a single key with every role and brand, which
	// the Stack's Token presents.
	KeysFile string
	// NATSPasswordDir holds a NATS password file per service, named as
	// the service (broker.ServiceUsers writes them): each service then
	// connects as its own NATS user, with --nats-user and
	// --nats-password-file. Empty connects every service with the Common
	// flags alone.
	NATSPasswordDir string
	// AcceptRedisLoss starts escalation and the notifier on a Redis
	// without appendonly (--redis-durability=accept-loss), with a warning
	// in their logs: for tests and `make run`, never production.
	AcceptRedisLoss bool
	// EscalationClock, when set, is the escalation service's clock: a test
	// moves it on to make a chain level or a route's hold fall due
	// without waiting for it. Nil: the system clock.
	EscalationClock clock.Clock
}

// Stack is the six running services.
type Stack struct {
	Ingest     *ingest.Service
	Scorer     *scorer.Service
	Reach      *reach.Service
	Escalation *escalation.Service
	Notifier   *notifier.Service
	Console    *console.Service
	// Token is the key Start made when Options.KeysFile was empty: it
	// works for every API of the stack.
	Token string

	started []part
	tempDir string
	// opts are Start's, kept for StartConsole.
	opts Options
}

type part struct {
	name string
	svc  lifecycle.Server
	deps *deps.Deps
}

// Start builds and starts the services, escalation first (it creates the
// streams, bus.StreamOwner), then the others downstream first, so that
// nothing is published before its consumer exists.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	s := &Stack{}
	if opts.KeysFile == "" {
		dir, err := os.MkdirTemp("", "firebreak-keys-")
		if err != nil {
			return nil, fmt.Errorf("directory for the stack's keys file: %w", err)
		}
		s.tempDir = dir
		if s.Token, opts.KeysFile, err = LocalKeys(dir); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	opts.Flags = opts.prepared(s.tempDir)
	s.opts = opts
	steps := []struct {
		name  string
		cfg   lifecycle.Config
		build func(lifecycle.Config, *deps.Deps) (lifecycle.Server, error)
	}{
		{"escalation", &escalation.Config{}, func(c lifecycle.Config, d *deps.Deps) (lifecycle.Server, error) {
			cfg := *c.(*escalation.Config)
			cfg.Clock = opts.EscalationClock
			svc, err := escalation.New(ctx, cfg, d)
			s.Escalation = svc
			return svc, err
		}},
		{"notifier", &notifier.Config{}, func(c lifecycle.Config, d *deps.Deps) (lifecycle.Server, error) {
			svc, err := notifier.New(ctx, *c.(*notifier.Config), d)
			s.Notifier = svc
			return svc, err
		}},
		{"reach", &reach.Config{}, func(c lifecycle.Config, d *deps.Deps) (lifecycle.Server, error) {
			svc, err := reach.New(ctx, *c.(*reach.Config), d)
			s.Reach = svc
			return svc, err
		}},
		{"scorer", &scorer.Config{}, func(c lifecycle.Config, d *deps.Deps) (lifecycle.Server, error) {
			svc, err := scorer.New(ctx, *c.(*scorer.Config), d)
			s.Scorer = svc
			return svc, err
		}},
		{"ingest", &ingest.Config{}, func(c lifecycle.Config, d *deps.Deps) (lifecycle.Server, error) {
			svc, err := ingest.New(ctx, *c.(*ingest.Config), d)
			s.Ingest = svc
			return svc, err
		}},
		{"console", &console.Config{}, func(c lifecycle.Config, d *deps.Deps) (lifecycle.Server, error) {
			svc, err := s.newConsole(ctx, c, d)
			s.Console = svc
			return svc, err
		}},
	}
	for _, step := range steps {
		p, err := s.start(ctx, opts, step.name, step.cfg, step.build)
		if err != nil {
			_ = s.Stop(context.Background())
			return nil, fmt.Errorf("start %s: %w", step.name, err)
		}
		s.started = append(s.started, p)
	}
	return s, nil
}

// prepared are the flags of every service as Start gives them (see Args),
// with the keys file in the common flags; tempDir, when set, holds the
// local token the console shows.
func (o Options) prepared(tempDir string) map[string][]string {
	flags := map[string][]string{}
	for name, f := range o.Flags {
		flags[name] = f
	}
	if o.NATSPasswordDir != "" {
		for _, name := range bus.Services {
			flags[name] = append([]string{"--nats-user=" + name, "--nats-password-file=" + filepath.Join(o.NATSPasswordDir, name)}, flags[name]...)
		}
	}
	if o.AcceptRedisLoss {
		for _, name := range []string{"escalation", "notifier"} {
			flags[name] = append([]string{"--redis-durability=accept-loss"}, flags[name]...)
		}
	}
	// The console opens in local mode as the local admin, whose key it
	// presents, unless Options.Flags say otherwise.
	consoleFlags := []string{"--local-user=" + LocalAdmin}
	if tempDir != "" {
		consoleFlags = append(consoleFlags, "--token-file="+filepath.Join(tempDir, "token"))
	}
	flags["console"] = append(consoleFlags, flags["console"]...)
	return flags
}

// Args are the command-line flags service name gets from Start under o,
// for running it as a process of its own: the common flags, the keys file
// (o.KeysFile must be set), its NATS user, the acceptance of Redis loss
// where o says so, and its own flags.
func (o Options) Args(name string) []string {
	return o.args(name, o.prepared(""))
}

func (o Options) args(name string, prepared map[string][]string) []string {
	common := append(append([]string{}, o.Common...), "--auth-keys-file="+o.KeysFile)
	return append(common, prepared[name]...)
}

// StartConsole starts one more console on the running stack with extra
// flags (a second local account with another role, say). The caller stops
// it, with the returned func, before the stack.
func (s *Stack) StartConsole(ctx context.Context, flags ...string) (*console.Service, func(context.Context) error, error) {
	opts := s.opts
	opts.Flags = map[string][]string{"console": append(append([]string{}, s.opts.Flags["console"]...), flags...)}
	var svc *console.Service
	p, err := s.start(ctx, opts, "console", &console.Config{}, func(c lifecycle.Config, d *deps.Deps) (lifecycle.Server, error) {
		var err error
		svc, err = s.newConsole(ctx, c, d)
		return svc, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start another console: %w", err)
	}
	return svc, func(ctx context.Context) error { return errors.Join(p.svc.Stop(ctx), p.deps.Close(ctx)) }, nil
}

// newConsole builds a console as a client of the escalation and notifier
// started here, whatever addresses its flags say.
func (s *Stack) newConsole(ctx context.Context, c lifecycle.Config, d *deps.Deps) (*console.Service, error) {
	cfg := *c.(*console.Config)
	cfg.EscalationAddr, cfg.NotifierAddr, cfg.ScorerAddr = s.Escalation.GRPCAddr(), s.Notifier.GRPCAddr(), s.Scorer.GRPCAddr()
	return console.New(ctx, cfg, d)
}

func (s *Stack) start(ctx context.Context, opts Options, name string, cfg lifecycle.Config,
	build func(lifecycle.Config, *deps.Deps) (lifecycle.Server, error)) (part, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.Register(fs)
	args := opts.args(name, opts.Flags)
	if err := config.Parse(fs, args, io.Discard); err != nil {
		return part{}, err
	}
	if err := cfg.Validate(); err != nil {
		return part{}, err
	}
	tel, err := opts.Telemetry(name)
	if err != nil {
		return part{}, err
	}
	// Every goroutine the service starts inherits a "service" profiler
	// label, so a CPU profile of the whole process splits by service.
	var d *deps.Deps
	var svc lifecycle.Server
	pprof.Do(ctx, pprof.Labels(ProfileLabel, name), func(ctx context.Context) {
		d, svc, err = open(ctx, cfg, tel, build)
	})
	if err != nil {
		return part{}, err
	}
	return part{name: name, svc: svc, deps: d}, nil
}

// open connects a service's dependencies, builds it and starts it.
func open(ctx context.Context, cfg lifecycle.Config, tel *telemetry.Telemetry,
	build func(lifecycle.Config, *deps.Deps) (lifecycle.Server, error)) (*deps.Deps, lifecycle.Server, error) {
	d, err := deps.Open(ctx, *cfg.Shared(), tel)
	if err != nil {
		return nil, nil, err
	}
	svc, err := build(cfg, d)
	if err == nil {
		err = svc.Start(ctx)
	}
	if err != nil {
		_ = d.Close(ctx)
		return nil, nil, err
	}
	return d, svc, nil
}

// HTTPAddrs are the addresses of every service's HTTP server (health,
// metrics and whatever else it serves), by service name.
func (s *Stack) HTTPAddrs() map[string]string {
	out := make(map[string]string, len(s.started))
	for _, p := range s.started {
		out[p.name] = p.svc.HTTPAddr()
	}
	return out
}

// Stop drains the services, upstream first, so each drains into a
// consumer that is still running.
func (s *Stack) Stop(ctx context.Context) error {
	var errs []error
	for i := len(s.started) - 1; i >= 0; i-- {
		p := s.started[i]
		errs = append(errs, p.svc.Stop(ctx), p.deps.Close(ctx))
	}
	s.started = nil
	if s.tempDir != "" {
		errs = append(errs, os.RemoveAll(s.tempDir))
		s.tempDir = ""
	}
	return errors.Join(errs...)
}

// LocalAdmin names the key LocalKeys makes, and the console's local account.
const LocalAdmin = "local-admin"

// LocalKeys gives a laptop or test run one key that may do everything: it
// reuses the key in dir/token if there is one, or makes one, and writes
// dir/auth-keys holding its digest with every role and brand. Both files
// are readable only by their owner.
func LocalKeys(dir string) (token, keysFile string, err error) {
	tokenFile, keysFile := filepath.Join(dir, "token"), filepath.Join(dir, "auth-keys")
	if b, err := os.ReadFile(tokenFile); err == nil && len(strings.TrimSpace(string(b))) >= auth.MinKeyLength {
		token = strings.TrimSpace(string(b))
	} else {
		if token, err = auth.NewKey(); err != nil {
			return "", "", err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", "", fmt.Errorf("directory for the local token: %w", err)
		}
		if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
			return "", "", fmt.Errorf("write the local token: %w", err)
		}
	}
	line := "# the local run's key; its token is in " + tokenFile + "\n" +
		auth.KeyLine(LocalAdmin, token, auth.Roles, []string{auth.AllBrands}) + "\n"
	if err := os.WriteFile(keysFile, []byte(line), 0o600); err != nil {
		return "", "", fmt.Errorf("write the local keys file: %w", err)
	}
	return token, keysFile, nil
}

// Addrs lists each service's HTTP and gRPC addresses, upstream first.
func (s *Stack) Addrs() [][3]string {
	var out [][3]string
	for i := len(s.started) - 1; i >= 0; i-- {
		p := s.started[i]
		out = append(out, [3]string{p.name, p.svc.HTTPAddr(), p.svc.GRPCAddr()})
	}
	return out
}
