package escalation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
)

// reloader watches a policy file and swaps in a new policy when the file
// changes and parses. A policy that does not parse is refused with its
// route and reason, and the running one stays in force.
type reloader struct {
	path    string
	target  *atomic.Pointer[policy.Policy]
	name    string
	s       *Service
	reloads metric.Int64Counter
	lastSum [32]byte
}

func (s *Service) newReloader(name, path string, target *atomic.Pointer[policy.Policy]) (*lifecycle.Every, error) {
	reloads, err := s.d.Tel.Meter.Meter("firebreak/escalation").Int64Counter("firebreak.policy.reloads",
		metric.WithDescription("policy file reloads, by policy (live, shadow) and outcome (applied, refused)"))
	if err != nil {
		return nil, err
	}
	every := s.cfg.PolicyCheck
	if every <= 0 {
		every = 5 * time.Second
	}
	r := &reloader{path: path, target: target, name: name, s: s, reloads: reloads}
	if doc, err := os.ReadFile(path); err == nil {
		r.lastSum = sha256.Sum256(doc)
	}
	return &lifecycle.Every{Interval: every, Do: r.check}, nil
}

// check reloads the file if its content changed since the last look.
func (r *reloader) check(ctx context.Context) {
	doc, err := os.ReadFile(r.path)
	if err != nil {
		r.s.d.Tel.Logger.Warn("cannot read policy file; keeping the running policy", "policy", r.name, "file", r.path, "err", err)
		return
	}
	sum := sha256.Sum256(doc)
	if bytes.Equal(sum[:], r.lastSum[:]) {
		return
	}
	r.lastSum = sum
	p, err := policy.Parse(doc)
	if err != nil {
		r.reloads.Add(ctx, 1, metric.WithAttributes(attribute.String("policy", r.name), attribute.String("outcome", "refused")))
		r.s.d.Tel.Logger.Error("policy refused; keeping the running policy", "policy", r.name, "file", r.path,
			"running", r.target.Load().Version(), "err", err)
		return
	}
	r.target.Store(p)
	r.reloads.Add(ctx, 1, metric.WithAttributes(attribute.String("policy", r.name), attribute.String("outcome", "applied")))
	r.s.d.Tel.Logger.Info("policy reloaded", "policy", r.name, "file", r.path, "version", p.Version())
}
