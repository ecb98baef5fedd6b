package escalation

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/policyfile"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
)

// reloader watches a policy file, and the VIP and watch lists it names, and
// swaps in a new policy when any of them changes and the whole parses. A
// policy that does not parse (or names a list that does not) is refused
// with its route or list and line, and the running one stays in force.
type reloader struct {
	path    string
	target  *atomic.Pointer[policy.Policy]
	name    string
	s       *Service
	reloads metric.Int64Counter
	lastSum [32]byte
	// state is what the policy page shows of the reloads.
	state *policyState
}

func (s *Service) newReloader(name, path string, target *atomic.Pointer[policy.Policy], state *policyState) (*lifecycle.Every, error) {
	reloads, err := s.d.Tel.Meter.Meter("firebreak/escalation").Int64Counter("firebreak.policy.reloads",
		metric.WithDescription("policy file reloads, by policy (live, shadow) and outcome (applied, refused)"))
	if err != nil {
		return nil, err
	}
	every := s.cfg.PolicyCheck
	if every <= 0 {
		every = 5 * time.Second
	}
	r := &reloader{path: path, target: target, name: name, s: s, reloads: reloads, state: state}
	if snap, err := policyfile.Read(path); err == nil {
		r.lastSum = snap.Sum
	}
	return &lifecycle.Every{Interval: every, Do: r.check}, nil
}

// check reloads the policy if it or one of its lists changed since the
// last look.
func (r *reloader) check(ctx context.Context) {
	snap, err := policyfile.Read(r.path)
	now := r.s.clock.Now()
	if err != nil {
		r.state.refuse("cannot read the policy file: "+err.Error(), now)
		r.s.d.Tel.Logger.Warn("cannot read policy file; keeping the running policy", "policy", r.name, "file", r.path, "err", err)
		return
	}
	if snap.Sum == r.lastSum {
		r.state.checked(now)
		return
	}
	r.lastSum = snap.Sum
	p, err := snap.Parse()
	if err != nil {
		r.state.refuse(err.Error(), now)
		r.reloads.Add(ctx, 1, metric.WithAttributes(attribute.String("policy", r.name), attribute.String("outcome", "refused")))
		r.s.d.Tel.Logger.Error("policy refused; keeping the running policy", "policy", r.name, "file", r.path,
			"running", r.target.Load().Version(), "err", err)
		return
	}
	r.target.Store(p)
	r.state.loaded(r.path, now)
	r.reloads.Add(ctx, 1, metric.WithAttributes(attribute.String("policy", r.name), attribute.String("outcome", "applied")))
	r.s.d.Tel.Logger.Info("policy reloaded", "policy", r.name, "file", r.path, "version", p.Version(), "lists", listSummary(p))
}

// listSummary names the lists a policy read and their sizes, for the log.
func listSummary(p *policy.Policy) []string {
	var out []string
	for _, l := range p.Lists() {
		out = append(out, fmt.Sprintf("%s (%s): %d authors", l.Name, l.Path, l.Authors))
	}
	return out
}
