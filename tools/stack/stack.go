// Package stack runs all five Firebreak services in one process, each with
// its own connections, exactly as they run apart. `make run`, the end-to-end
// tests and the load tools use it.
package stack

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/firebreak/firebreak/services/escalation"
	"github.com/firebreak/firebreak/services/ingest"
	"github.com/firebreak/firebreak/services/notifier"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
	"github.com/firebreak/firebreak/services/platform/telemetry"
	"github.com/firebreak/firebreak/services/reach"
	"github.com/firebreak/firebreak/services/scorer"
)

// Options say where the shared infrastructure is and how to set each service.
type Options struct {
	// Common are flags every service gets (--nats-url, --redis-url, ...).
	Common []string
	// Flags are extra flags per service name.
	Flags map[string][]string
	// Telemetry makes each service's telemetry.
	Telemetry func(service string) (*telemetry.Telemetry, error)
}

// Stack is the five running services.
type Stack struct {
	Ingest     *ingest.Service
	Scorer     *scorer.Service
	Reach      *reach.Service
	Escalation *escalation.Service
	Notifier   *notifier.Service

	started []part
}

type part struct {
	name string
	svc  lifecycle.Server
	deps *deps.Deps
}

// Start builds and starts the services, downstream first, so that nothing
// is published before its consumer exists.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	s := &Stack{}
	steps := []struct {
		name  string
		cfg   lifecycle.Config
		build func(lifecycle.Config, *deps.Deps) (lifecycle.Server, error)
	}{
		{"notifier", &notifier.Config{}, func(c lifecycle.Config, d *deps.Deps) (lifecycle.Server, error) {
			svc, err := notifier.New(*c.(*notifier.Config), d)
			s.Notifier = svc
			return svc, err
		}},
		{"escalation", &escalation.Config{}, func(c lifecycle.Config, d *deps.Deps) (lifecycle.Server, error) {
			svc, err := escalation.New(*c.(*escalation.Config), d)
			s.Escalation = svc
			return svc, err
		}},
		{"reach", &reach.Config{}, func(c lifecycle.Config, d *deps.Deps) (lifecycle.Server, error) {
			svc, err := reach.New(*c.(*reach.Config), d)
			s.Reach = svc
			return svc, err
		}},
		{"scorer", &scorer.Config{}, func(c lifecycle.Config, d *deps.Deps) (lifecycle.Server, error) {
			svc, err := scorer.New(*c.(*scorer.Config), d)
			s.Scorer = svc
			return svc, err
		}},
		{"ingest", &ingest.Config{}, func(c lifecycle.Config, d *deps.Deps) (lifecycle.Server, error) {
			svc, err := ingest.New(*c.(*ingest.Config), d)
			s.Ingest = svc
			return svc, err
		}},
	}
	for _, step := range steps {
		if err := s.start(ctx, opts, step.name, step.cfg, step.build); err != nil {
			_ = s.Stop(context.Background())
			return nil, fmt.Errorf("start %s: %w", step.name, err)
		}
	}
	return s, nil
}

func (s *Stack) start(ctx context.Context, opts Options, name string, cfg lifecycle.Config,
	build func(lifecycle.Config, *deps.Deps) (lifecycle.Server, error)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.Register(fs)
	args := append(append([]string{}, opts.Common...), opts.Flags[name]...)
	if err := config.Parse(fs, args, io.Discard); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	tel, err := opts.Telemetry(name)
	if err != nil {
		return err
	}
	d, err := deps.Open(ctx, *cfg.Shared(), tel)
	if err != nil {
		return err
	}
	svc, err := build(cfg, d)
	if err != nil {
		_ = d.Close(ctx)
		return err
	}
	if err := svc.Start(ctx); err != nil {
		_ = d.Close(ctx)
		return err
	}
	s.started = append(s.started, part{name: name, svc: svc, deps: d})
	return nil
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
	return errors.Join(errs...)
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
