// Package surge tells a surge of complaints from an ordinary day: per
// brand, per topic within a brand, and per post that complaints reply to or
// quote (a pile-on), it compares how many distinct authors complained in
// the last window with a baseline learned from earlier windows, and opens
// and resolves incidents. It is pure: a store keeps the counts and the
// State, and calls Step.
package surge

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/wording"
)

// Config shapes detection; the policy's surges section fills it.
type Config struct {
	// Window is the sliding window distinct authors are counted in, and the
	// length of the windows the baseline learns from.
	Window time.Duration
	// MinAuthors is the fewest distinct authors in a window that can be a
	// surge, whatever the baseline.
	MinAuthors int
	// Deviations is how many standard deviations above the baseline mean
	// a window's count must be.
	Deviations float64
	// Persist is how long the count must stay above the threshold, with
	// complaints still coming, before an incident opens: one burst minute
	// is not an incident.
	Persist time.Duration
	// Quiet is how long the count must be back at the baseline before an
	// incident resolves itself.
	Quiet time.Duration
	// Cooldown is how long after an incident resolves before the same
	// scope can open another: no flapping.
	Cooldown time.Duration
	// Alpha is the weight of the newest window in the baseline's moving
	// average (0 < Alpha <= 1).
	Alpha float64
}

// Alpha is the baseline's weight of the newest window: about the last
// ten windows count. It is not a policy setting; the others come from the
// policy's surges section (default.yaml's when the policy leaves one out).
const Alpha = 0.1

// Validate names the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.Window < time.Minute:
		return fmt.Errorf("window %s: want at least 1m", c.Window)
	case c.MinAuthors < 2:
		return fmt.Errorf("min_authors %d: want at least 2 (one author is not a surge)", c.MinAuthors)
	case c.Deviations <= 0:
		return fmt.Errorf("deviations %g: want a positive number such as 4", c.Deviations)
	case c.Persist < 0 || c.Persist >= c.Window:
		return fmt.Errorf("persist %s: want at least 0 and shorter than the window %s", c.Persist, c.Window)
	case c.Quiet <= 0:
		return fmt.Errorf("quiet %s: want a positive duration such as 30m", c.Quiet)
	case c.Cooldown < 0:
		return fmt.Errorf("cooldown %s: must not be negative", c.Cooldown)
	case c.Alpha <= 0 || c.Alpha > 1:
		return fmt.Errorf("alpha %g: want more than 0 and at most 1", c.Alpha)
	}
	return nil
}

// Scope names what is counted: Brand (every complaint about the brand),
// Topic("broadband"), or Post(mentionID) for complaints that reply to or
// quote one post.
type Scope = string

// Brand is the scope of all of a brand's complaints.
const Brand Scope = "brand"

// Topic is the scope of a brand's complaints about one topic.
func Topic(t string) Scope { return "topic:" + t }

// Post is the scope of complaints replying to or quoting one post.
func Post(mentionID string) Scope { return "post:" + mentionID }

// group is the incident a scope opens: the brand and its topics share one
// (an outage is one incident, whatever topics it is filed under); each
// pile-on has its own.
func group(s Scope) string {
	if strings.HasPrefix(s, "post:") {
		return s
	}
	return "outage"
}

func isPost(s Scope) bool { return strings.HasPrefix(s, "post:") }

// Parts names a scope's topic or post; both are empty for the brand.
func Parts(s Scope) (topic, post string) {
	if t, ok := strings.CutPrefix(s, "topic:"); ok {
		return t, ""
	}
	if p, ok := strings.CutPrefix(s, "post:"); ok {
		return "", p
	}
	return "", ""
}

// ScopesOf lists the scopes a complaint counts in.
func ScopesOf(topics []string, target string) []Scope {
	out := []Scope{Brand}
	for _, t := range topics {
		if t != "" && !slices.Contains(out, Topic(t)) {
			out = append(out, Topic(t))
		}
	}
	if target != "" {
		out = append(out, Post(target))
	}
	return out
}

// Target is the post a mention piles on: the post it quotes, or else the
// one it replies to.
func Target(m *fbv1.Mention) string {
	if m.GetQuoteOfId() != "" {
		return m.GetQuoteOfId()
	}
	return m.GetReplyToId()
}

// Baseline is a scope's learned rate: the exponentially weighted mean and
// variance of distinct authors per window.
type Baseline struct {
	Mean    float64 `json:"mean"`
	Var     float64 `json:"var"`
	Windows int     `json:"windows"`
}

// SD is the standard deviation, at least 1 so that a quiet brand's first
// few complaints are not a surge.
func (b Baseline) SD() float64 { return max(1, math.Sqrt(b.Var)) }

// fold learns one window's count.
func (b *Baseline) fold(count float64, alpha float64) {
	if b.Windows == 0 {
		b.Mean, b.Var, b.Windows = count, 0, 1
		return
	}
	diff := count - b.Mean
	incr := alpha * diff
	b.Mean += incr
	b.Var = (1 - alpha) * (b.Var + diff*incr)
	b.Windows++
}

// ScopeState is what a scope remembers.
type ScopeState struct {
	Baseline Baseline `json:"baseline"`
	// Seen is the latest complaint counted (ms).
	Seen int64 `json:"seen,omitempty"`
}

// Incident is an open incident of a group.
type Incident struct {
	// Seq numbers the group's incidents, from 1: the store derives the
	// incident's case id from it.
	Seq      int64 `json:"seq"`
	Scope    Scope `json:"scope"`
	OpenedAt int64 `json:"opened_at"`
	// Peak is the most distinct authors in a window, to a tenth.
	Peak int     `json:"peak"`
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
	// QuietSince is when the count fell back to the baseline (ms; 0 while
	// above it).
	QuietSince int64 `json:"quiet_since,omitempty"`
}

// GroupState is a group's incidents.
type GroupState struct {
	Open *Incident `json:"open,omitempty"`
	// Seq is the number of the group's latest incident.
	Seq int64 `json:"seq"`
	// CooldownUntil is when the group may open again (ms).
	CooldownUntil int64 `json:"cooldown_until,omitempty"`
}

// State is a brand's surge state.
type State struct {
	Scopes map[Scope]*ScopeState  `json:"scopes,omitempty"`
	Groups map[string]*GroupState `json:"groups,omitempty"`
}

// Closed is the distinct-author count of one finished window of a scope.
type Closed struct {
	Start int64 // ms
	Count int
}

// Observation is what the store counted: the distinct authors in the
// window ending now, per scope, and the windows that finished since the
// state last learned from them (oldest first).
type Observation struct {
	At     time.Time
	Counts map[Scope]int
	Closed map[Scope][]Closed
	// Past is, per scope, the distinct authors in the window that ended
	// Persist before At; Recent those who complained in the last half of
	// Persist.
	Past, Recent map[Scope]int
	// Latest is, per scope, when the newest complaint counted was made (ms).
	Latest map[Scope]int64
	// Complaint is true when a complaint was just counted (false for a
	// look by the timer): only complaints still coming make a surge last.
	Complaint bool
}

// Change is an incident opened or resolved by a Step.
type Change struct {
	Group    string
	Opened   bool // false: resolved
	Incident Incident
	// Count is the scope's count when it happened.
	Count int
}

// Step learns from an observation and returns the state after it and
// what opened or resolved. It never changes st.
func Step(st State, obs Observation, cfg Config) (State, []Change) {
	next := st.clone()
	now := obs.At.UnixMilli()
	scopes := slices.SortedFunc(mapsKeys(obs.Counts, obs.Closed), specificFirst)
	for _, scope := range scopes {
		if isPost(scope) {
			// A post keeps no state of its own (there are as many as
			// posts replied to): its threshold is the minimum.
			continue
		}
		ss := next.scope(scope)
		if next.group(group(scope)).Open == nil {
			// An open incident's windows are not learned from: the
			// baseline is the ordinary day, not the outage.
			ss.learn(obs.Closed[scope], cfg)
		}
		if _, counted := obs.Counts[scope]; counted && obs.Complaint && now-ss.Seen >= cfg.Window.Milliseconds()/15 {
			// Coarse, so that most complaints leave the state as it is
			// and replicas seldom race to store it.
			ss.Seen = now
		}
	}
	var out []Change
	for _, scope := range scopes {
		count, counted := obs.Counts[scope]
		if !counted {
			continue
		}
		ss := next.Scopes[scope]
		if ss == nil {
			ss = &ScopeState{}
		}
		name := group(scope)
		if next.Groups[name] == nil && (isPost(scope) && float64(count) < Threshold(Baseline{}, cfg)) {
			continue // a post below the minimum: nothing to keep
		}
		g := next.group(name)
		if g.Open != nil {
			if g.Open.Scope == scope {
				if c, ok := g.Open.look(count, now, max(ss.Seen, obs.Latest[scope]), cfg); ok {
					out = append(out, Change{Group: name, Incident: c, Count: count})
					g.Open = nil
					g.CooldownUntil = now + cfg.Cooldown.Milliseconds()
				}
			}
			continue
		}
		if name == "outage" && next.pileOn(now) {
			// The pile-on's own complaints raise the brand's count: while
			// one is open, and while it cools down (its authors leaving
			// the brand's window), it is what the brand's surge is.
			continue
		}
		if obs.Complaint && next.surging(obs, scope, cfg) && now >= g.CooldownUntil {
			if scope == Brand {
				// A brand-wide surge that one topic is surging in too is
				// that topic's: it says what is wrong.
				scope, count, ss = next.topicOf(obs, scope, count, ss, cfg)
			}
			g.Seq++
			g.Open = &Incident{Seq: g.Seq, Scope: scope, OpenedAt: now, Peak: count, Mean: ss.Baseline.Mean, SD: ss.Baseline.SD()}
			out = append(out, Change{Group: name, Opened: true, Incident: *g.Open, Count: count})
		}
	}
	next.prune(now, cfg)
	return next, out
}

// surging reports whether a scope's count is above its threshold now and
// was already Persist ago, with complaints still coming in the last half
// of that: a burst that stopped is not an incident. The counts come from
// the store as it is, so replicas deciding complaints out of order agree.
func (st *State) surging(obs Observation, scope Scope, cfg Config) bool {
	var b Baseline
	if ss := st.Scopes[scope]; ss != nil {
		b = ss.Baseline
	}
	t := Threshold(b, cfg)
	if float64(obs.Counts[scope]) < t || float64(obs.Past[scope]) < t {
		return false
	}
	return cfg.Persist == 0 || obs.Recent[scope] >= 2
}

// Close ends a group's open incident numbered seq (resolved by hand),
// starting its cooldown; ok is false when that incident is not open.
func (st State) Close(group string, seq int64, at time.Time, cfg Config) (State, bool) {
	g := st.Groups[group]
	if g == nil || g.Open == nil || g.Open.Seq != seq {
		return st, false
	}
	next := st.clone()
	next.Groups[group].Open = nil
	next.Groups[group].CooldownUntil = at.UnixMilli() + cfg.Cooldown.Milliseconds()
	return next, true
}

// pileOn reports whether a pile-on incident is open or cooling down.
func (st *State) pileOn(now int64) bool {
	for name, g := range st.Groups {
		if name != "outage" && (g.Open != nil || now < g.CooldownUntil) {
			return true
		}
	}
	return false
}

// topicOf picks the topic above its threshold with the most authors, or
// keeps the brand: the brand's surge lasted, and this is what it is about.
func (st *State) topicOf(obs Observation, scope Scope, count int, ss *ScopeState, cfg Config) (Scope, int, *ScopeState) {
	best := 0
	for s, n := range obs.Counts {
		if t := st.Scopes[s]; strings.HasPrefix(s, "topic:") && t != nil && float64(n) >= Threshold(t.Baseline, cfg) && (n > best || n == best && s < scope) {
			scope, count, ss, best = s, n, t, n
		}
	}
	return scope, count, ss
}

// specificFirst orders scopes so that an outage opens on the topic that
// surges rather than on the whole brand when both do: posts, then topics,
// then the brand.
func specificFirst(a, b Scope) int {
	rank := func(s Scope) int {
		switch {
		case strings.HasPrefix(s, "post:"):
			return 0
		case strings.HasPrefix(s, "topic:"):
			return 1
		}
		return 2
	}
	if r := rank(a) - rank(b); r != 0 {
		return r
	}
	return strings.Compare(a, b)
}

// learn folds finished windows into the baseline; windows between two of
// them that saw no complaint count as zero. A window at or above the
// threshold is a surge, even one too short to open an incident: it is not
// the usual, and is not learned.
func (ss *ScopeState) learn(closed []Closed, cfg Config) {
	for i, c := range closed {
		if i > 0 {
			gaps := int((c.Start - closed[i-1].Start) / cfg.Window.Milliseconds())
			for range min(max(gaps-1, 0), 200) {
				ss.Baseline.fold(0, cfg.Alpha)
			}
		}
		if float64(c.Count) < Threshold(ss.Baseline, cfg) {
			ss.Baseline.fold(float64(c.Count), cfg.Alpha)
		}
	}
}

// look updates an open incident with its scope's count, and reports it
// resolved when the count has been back at the baseline (its mean plus one
// deviation) for the quiet period.
func (inc *Incident) look(count int, now, seen int64, cfg Config) (Incident, bool) {
	if count > inc.Peak+max(1, inc.Peak/10) {
		// In steps of a tenth, so that a growing incident does not
		// change the state with every complaint.
		inc.Peak = count
	}
	switch {
	case float64(count) > inc.Mean+inc.SD:
		inc.QuietSince = 0
	case inc.QuietSince == 0 && count == 0 && seen > 0:
		// Nobody complained since seen: the window has been empty
		// since it passed.
		inc.QuietSince = min(now, seen+cfg.Window.Milliseconds())
	case inc.QuietSince == 0:
		inc.QuietSince = now
	}
	return *inc, inc.QuietSince != 0 && now-inc.QuietSince >= cfg.Quiet.Milliseconds()
}

// Threshold is the count at and above which a scope surges.
func Threshold(b Baseline, cfg Config) float64 {
	return max(float64(cfg.MinAuthors), b.Mean+cfg.Deviations*b.SD())
}

// Severity grades an incident by how far its count is above the baseline:
// HIGH at the threshold, CRITICAL at twice the deviation the threshold
// asks for (or four times the minimum on a quiet brand).
func Severity(count int, mean, sd float64, cfg Config) fbv1.Priority {
	z := (float64(count) - mean) / max(sd, 1)
	if z >= 2*cfg.Deviations && count >= 4*cfg.MinAuthors {
		return fbv1.Priority_PRIORITY_CRITICAL
	}
	return fbv1.Priority_PRIORITY_HIGH
}

// Reason says why an incident opened, in plain words: "41 people
// complained about broadband in 15 minutes; usually 3 ± 2".
func Reason(scope Scope, count int, mean, sd float64, cfg Config) string {
	what := "complained"
	switch {
	case strings.HasPrefix(scope, "topic:"):
		what = "complained about " + strings.TrimPrefix(scope, "topic:")
	case strings.HasPrefix(scope, "post:"):
		what = "piled on one post"
	}
	usual := fmt.Sprintf("usually %s ± %s", wording.Thousands(int64(math.Round(mean))), wording.Thousands(int64(math.Round(sd))))
	if mean == 0 && sd <= 1 {
		usual = "usually next to none"
	}
	return fmt.Sprintf("%s %s %s in %s; %s", wording.Thousands(int64(count)), people(count), what, span(cfg.Window), usual)
}

func people(n int) string {
	if n == 1 {
		return "person"
	}
	return "people"
}

func span(d time.Duration) string {
	switch {
	case d%time.Hour == 0 && d > time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	case d == time.Hour:
		return "an hour"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	return d.String()
}

// Active is the open incident a complaint in scopes belongs to: a pile-on
// on its post first, else the brand's outage. ok is false when none is.
func (st State) Active(scopes []Scope) (string, Incident, bool) {
	for _, s := range slices.Backward(scopes) {
		if g := st.Groups[group(s)]; g != nil && g.Open != nil {
			return group(s), *g.Open, true
		}
	}
	return "", Incident{}, false
}

// OpenGroups lists the groups with an open incident.
func (st State) OpenGroups() []string {
	var out []string
	for name, g := range st.Groups {
		if g.Open != nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// ScopesOfGroup lists the known scopes of a group.
func (st State) ScopesOfGroup(name string) []Scope {
	if isPost(name) {
		return []Scope{name} // a pile-on's group is its post's scope
	}
	var out []Scope
	for s := range st.Scopes {
		if group(s) == name {
			out = append(out, s)
		}
	}
	if name == "outage" && !slices.Contains(out, Brand) {
		out = append(out, Brand)
	}
	slices.Sort(out)
	return out
}

// prune forgets scopes nobody complained in for a long time (a pile-on's
// post, a topic no longer used) and with no open incident.
func (st *State) prune(now int64, cfg Config) {
	idle := 96 * cfg.Window.Milliseconds()
	for s, ss := range st.Scopes {
		g := st.Groups[group(s)]
		if s != Brand && now-ss.Seen > idle && (g == nil || g.Open == nil) {
			delete(st.Scopes, s)
		}
	}
	for name, g := range st.Groups {
		if name != "outage" && g.Open == nil && now > g.CooldownUntil+idle {
			delete(st.Groups, name)
		}
	}
}

// Equal reports whether st and o are the same state: what they would
// store is the same (an empty map is no map).
func (st State) Equal(o State) bool {
	return maps.EqualFunc(st.Scopes, o.Scopes, func(a, b *ScopeState) bool {
		return a == b || (a != nil && b != nil && *a == *b)
	}) &&
		maps.EqualFunc(st.Groups, o.Groups, func(a, b *GroupState) bool {
			if a == nil || b == nil {
				return a == b
			}
			if a.Seq != b.Seq || a.CooldownUntil != b.CooldownUntil || (a.Open == nil) != (b.Open == nil) {
				return false
			}
			return a.Open == nil || *a.Open == *b.Open
		})
}

func (st State) clone() State {
	out := State{Scopes: make(map[Scope]*ScopeState, len(st.Scopes)), Groups: make(map[string]*GroupState, len(st.Groups))}
	for k, v := range st.Scopes {
		c := *v
		out.Scopes[k] = &c
	}
	for k, v := range st.Groups {
		c := *v
		if v.Open != nil {
			o := *v.Open
			c.Open = &o
		}
		out.Groups[k] = &c
	}
	return out
}

func (st *State) scope(s Scope) *ScopeState {
	if st.Scopes[s] == nil {
		st.Scopes[s] = &ScopeState{}
	}
	return st.Scopes[s]
}

func (st *State) group(name string) *GroupState {
	if st.Groups[name] == nil {
		st.Groups[name] = &GroupState{}
	}
	return st.Groups[name]
}

func mapsKeys[V1, V2 any](a map[Scope]V1, b map[Scope]V2) func(func(Scope) bool) {
	return func(yield func(Scope) bool) {
		for k := range a {
			if !yield(k) {
				return
			}
		}
		for k := range b {
			if _, dup := a[k]; dup {
				continue
			}
			if !yield(k) {
				return
			}
		}
	}
}

// HoldEnd is what becomes of a complaint whose first page a route held to
// see whether it is part of a surge, when the hold ends.
type HoldEnd struct {
	// Join is set when an incident covering the complaint is open: it
	// joins that one (Group's Incident) quietly.
	Join     bool
	Group    string
	Incident Incident
	// Wait is set when a surge is rising in the complaint's scope: above
	// its threshold, with no incident yet, one may open once it has
	// lasted Persist. The hold is made longer by Wait, half of Persist.
	Wait time.Duration
}

// EndHold says what becomes, at obs.At, of a held complaint counted in
// scopes; mayWait is false when its hold was made longer as often as it
// may be. Neither Join nor Wait: it pages. obs is a look (no complaint)
// at scopes.
func (st State) EndHold(obs Observation, scopes []Scope, mayWait bool, cfg Config) HoldEnd {
	if g, inc, ok := st.Active(scopes); ok {
		return HoldEnd{Join: true, Group: g, Incident: inc}
	}
	if !mayWait || cfg.Persist <= 0 {
		return HoldEnd{}
	}
	now := obs.At.UnixMilli()
	for _, s := range scopes {
		name := group(s)
		if g := st.Groups[name]; g != nil && now < g.CooldownUntil || name == "outage" && st.pileOn(now) {
			continue // no incident can open here now
		}
		var b Baseline
		if ss := st.Scopes[s]; ss != nil && !isPost(s) {
			b = ss.Baseline
		}
		if float64(obs.Counts[s]) >= Threshold(b, cfg) {
			return HoldEnd{Wait: max(cfg.Persist/2, time.Second)}
		}
	}
	return HoldEnd{}
}
