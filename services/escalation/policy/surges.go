package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/surge"
)

// surgesDocument is the surges section; default.yaml documents it.
type surgesDocument struct {
	Team       string `yaml:"team"`
	Chain      string `yaml:"chain"`
	Priority   string `yaml:"priority"`
	Window     string `yaml:"window"`
	MinAuthors int    `yaml:"min_authors"`
	Deviations string `yaml:"deviations"`
	Persist    string `yaml:"persist"`
	Quiet      string `yaml:"quiet"`
	Cooldown   string `yaml:"cooldown"`
}

// Surges is how the policy detects surges and whom an incident pages.
type Surges struct {
	Detect surge.Config
	// Team, Chain and Priority are the incident case's; its severity can
	// raise the priority.
	Team     string
	Chain    string
	Priority fbv1.Priority
}

// withShippedSurges fills the settings a surges section leaves out from
// default.yaml's, their one source (the team is the policy's own).
func withShippedSurges(d *surgesDocument) *surgesDocument {
	out := *d
	sh := shipped().Surges
	if sh == nil {
		return &out
	}
	for _, f := range []struct{ own, def *string }{
		{&out.Priority, &sh.Priority}, {&out.Window, &sh.Window}, {&out.Deviations, &sh.Deviations},
		{&out.Persist, &sh.Persist}, {&out.Quiet, &sh.Quiet}, {&out.Cooldown, &sh.Cooldown},
	} {
		if *f.own == "" {
			*f.own = *f.def
		}
	}
	if out.MinAuthors == 0 {
		out.MinAuthors = sh.MinAuthors
	}
	return &out
}

// Surges returns the surges section; ok is false when the policy has none,
// and then no incident ever opens.
func (p *Policy) Surges() (Surges, bool) {
	if p.surges == nil {
		return Surges{}, false
	}
	return *p.surges, true
}

func (p *Policy) parseSurges(d *surgesDocument) []Problem {
	if d == nil {
		return nil
	}
	var errs []Problem
	bad := func(field, format string, args ...any) {
		errs = append(errs, Problem{Where: "surges", Line: p.lines.line("surges", field), Message: fmt.Sprintf(format, args...)})
	}
	d = withShippedSurges(d)
	s := Surges{Detect: surge.Config{Alpha: surge.Alpha}, Team: d.Team, Chain: d.Chain}
	if d.Team == "" {
		bad("team", "team is missing: the team an incident pages")
	}
	if s.Chain == "" {
		s.Chain = d.Team
	}
	if _, ok := p.chains[s.Chain]; !ok && s.Chain != "" {
		bad("chain", "chain %q is not defined under chains", s.Chain)
	}
	pr, err := parsePriority(d.Priority)
	if err != nil {
		bad("priority", "%v", err)
	}
	s.Priority = pr
	duration := func(field, v string, into *time.Duration) {
		if v == "" {
			return
		}
		got, err := time.ParseDuration(v)
		if err != nil {
			bad(field, "%s %q: want a duration such as 15m", field, v)
			return
		}
		*into = got
	}
	duration("window", d.Window, &s.Detect.Window)
	duration("persist", d.Persist, &s.Detect.Persist)
	duration("quiet", d.Quiet, &s.Detect.Quiet)
	duration("cooldown", d.Cooldown, &s.Detect.Cooldown)
	s.Detect.MinAuthors = d.MinAuthors
	{
		v, err := strconv.ParseFloat(strings.TrimSpace(d.Deviations), 64)
		if err != nil {
			bad("deviations", "deviations %q: want a number such as 4", d.Deviations)
		}
		s.Detect.Deviations = v
	}
	if len(errs) == 0 {
		if err := s.Detect.Validate(); err != nil {
			bad(strings.Fields(err.Error())[0], "%v", err)
		}
	}
	if len(errs) == 0 {
		p.surges = &s
	}
	return errs
}
