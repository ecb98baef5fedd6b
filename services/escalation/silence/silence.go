// Package silence is Alertmanager's silences for Firebreak's decisions: a
// silence's matchers (brand, platform, topic, author, team, route; =, !=,
// =~, !~) pick decisions, and while it is active their pages are muted.
// The decisions are still made, recorded and explained. It does no I/O.
package silence

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time zones of recurring windows, also in images without /usr/share/zoneinfo
	"unicode/utf8"

	"github.com/prometheus/alertmanager/timeinterval"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Bounds, checked before any work on a silence.
const (
	MaxMatchers = 16
	// MaxValueBytes bounds a matcher's value; MaxRegexBytes a regex's
	// pattern, and MaxRegexInsts its compiled program, so no silence makes
	// every decision pay for a huge automaton.
	MaxValueBytes = 256
	MaxRegexBytes = 256
	MaxRegexInsts = 2000
	MaxComment    = 500
	MaxIntervals  = 8
	// MaxLength is the longest a silence may last, recurring or not.
	MaxLength = 366 * 24 * time.Hour
)

// ErrInvalid marks a silence refused for what it says; the message says
// what to change.
var ErrInvalid = errors.New("silence refused")

// Names are the labels a matcher may name.
var Names = []string{"brand", "platform", "topic", "author", "team", "route"}

// platforms are the values of the platform label.
var platforms = []string{"x", "mastodon", "bluesky", "generic"}

// Labels are what a decision shows to silences. A label may have several
// values: author is the handle and the platform id, topic every topic of
// the mention. A label with no value has the empty value, as a missing
// label in Alertmanager.
type Labels map[string][]string

// PlatformName is a platform's label value: "x", "mastodon".
func PlatformName(p fbv1.Platform) string {
	return strings.ToLower(strings.TrimPrefix(p.String(), "PLATFORM_"))
}

// OfDecision are the labels of decision d about mention m. For a brand
// reply, to is the customer it answers, whose case it is: the author label
// is theirs (nil: m's author).
func OfDecision(d *fbv1.Decision, m *fbv1.Mention, to *fbv1.Author) Labels {
	author := m.GetAuthor()
	if to != nil {
		author = to
	}
	return Labels{
		"brand":    {m.GetBrand()},
		"platform": {PlatformName(m.GetPlatform())},
		"topic":    d.GetScore().GetTopics(),
		"author":   {author.GetHandle(), author.GetId()},
		"team":     {d.GetTeam()},
		"route":    {d.GetRoute()},
	}
}

// OfCase are the labels of a case, for pages its clocks send later.
func OfCase(c *fbv1.Case) Labels {
	return Labels{
		"brand":    {c.GetBrand()},
		"platform": {PlatformName(c.GetPlatform())},
		"topic":    c.GetTopics(),
		"author":   {c.GetAuthor().GetHandle(), c.GetAuthor().GetId()},
		"team":     {c.GetTeam()},
		"route":    {c.GetRoute()},
	}
}

type matcher struct {
	name  string
	typ   fbv1.MatchType
	value string
	re    *regexp.Regexp
}

// positive reports whether any value of the label matches the matcher's
// = or =~ form; != and !~ are its negation, so "topic!=billing" holds
// for a mention none of whose topics is billing.
func (m matcher) matches(values []string) bool {
	if len(values) == 0 {
		values = []string{""}
	}
	hit := slices.ContainsFunc(values, func(v string) bool {
		if m.re != nil {
			return m.re.MatchString(v)
		}
		return v == m.value
	})
	if m.typ == fbv1.MatchType_MATCH_TYPE_NOT_EQUAL || m.typ == fbv1.MatchType_MATCH_TYPE_NOT_REGEX {
		return !hit
	}
	return hit
}

// Silence is a checked silence, ready to match.
type Silence struct {
	*fbv1.Silence
	matchers  []matcher
	intervals []timeinterval.TimeInterval
}

// Compile checks a silence's matchers and windows and prepares them. It
// does not judge times or breadth (see Check): a stored silence compiles
// whatever the clock says.
func Compile(s *fbv1.Silence) (*Silence, error) {
	if len(s.GetMatchers()) > MaxMatchers {
		return nil, fmt.Errorf("%w: %d matchers; at most %d", ErrInvalid, len(s.Matchers), MaxMatchers)
	}
	out := &Silence{Silence: s}
	for _, pm := range s.GetMatchers() {
		m, err := compileMatcher(pm)
		if err != nil {
			return nil, err
		}
		out.matchers = append(out.matchers, m)
	}
	if len(s.GetTimeIntervals()) > MaxIntervals {
		return nil, fmt.Errorf("%w: %d time intervals; at most %d", ErrInvalid, len(s.TimeIntervals), MaxIntervals)
	}
	for i, ti := range s.GetTimeIntervals() {
		parsed, err := parseInterval(ti)
		if err != nil {
			return nil, fmt.Errorf("%w: time interval %d: %v", ErrInvalid, i+1, err)
		}
		out.intervals = append(out.intervals, parsed)
	}
	return out, nil
}

func compileMatcher(pm *fbv1.Matcher) (matcher, error) {
	m := matcher{name: pm.GetName(), typ: pm.GetType(), value: pm.GetValue()}
	if !slices.Contains(Names, m.name) {
		return m, fmt.Errorf("%w: unknown label %q; matchers name %s", ErrInvalid, m.name, strings.Join(Names, ", "))
	}
	if len(m.value) > MaxValueBytes {
		return m, fmt.Errorf("%w: the value of %s is %d bytes; at most %d", ErrInvalid, m.name, len(m.value), MaxValueBytes)
	}
	switch m.typ {
	case fbv1.MatchType_MATCH_TYPE_EQUAL, fbv1.MatchType_MATCH_TYPE_NOT_EQUAL:
		if m.name == "author" {
			m.value = strings.TrimPrefix(m.value, "@")
		}
		if m.name == "platform" && m.value != "" && !slices.Contains(platforms, m.value) {
			return m, fmt.Errorf("%w: platform %q is none of %s", ErrInvalid, m.value, strings.Join(platforms, ", "))
		}
	case fbv1.MatchType_MATCH_TYPE_REGEX, fbv1.MatchType_MATCH_TYPE_NOT_REGEX:
		re, err := compileRegex(m.value)
		if err != nil {
			return m, fmt.Errorf("%w: %s%s%q: %v", ErrInvalid, m.name, Op(m.typ), m.value, err)
		}
		m.re = re
	default:
		return m, fmt.Errorf("%w: matcher on %s has no operator; use =, !=, =~ or !~", ErrInvalid, m.name)
	}
	return m, nil
}

// compileRegex anchors a pattern at both ends, as Alertmanager does, and
// refuses one too long or whose program is too large.
func compileRegex(pattern string) (*regexp.Regexp, error) {
	if len(pattern) > MaxRegexBytes {
		return nil, fmt.Errorf("pattern is %d bytes; at most %d", len(pattern), MaxRegexBytes)
	}
	anchored := "^(?:" + pattern + ")$"
	parsed, err := syntax.Parse(anchored, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil, err
	}
	if len(prog.Inst) > MaxRegexInsts {
		return nil, fmt.Errorf("pattern compiles to %d instructions; at most %d (repetitions like {1,1000} multiply it)", len(prog.Inst), MaxRegexInsts)
	}
	return regexp.Compile(anchored)
}

// parseInterval reads a window through Alertmanager's own parser, so its
// syntax and checks are exactly those of time_intervals.
func parseInterval(ti *fbv1.TimeInterval) (timeinterval.TimeInterval, error) {
	type span struct {
		Start string `json:"start_time"`
		End   string `json:"end_time"`
	}
	doc := map[string]any{}
	if len(ti.Times) > 0 {
		var times []span
		for _, t := range ti.Times {
			times = append(times, span{t.Start, t.End})
		}
		doc["times"] = times
	}
	for key, v := range map[string][]string{"weekdays": ti.Weekdays, "days_of_month": ti.DaysOfMonth, "months": ti.Months} {
		if len(v) > 0 {
			doc[key] = v
		}
	}
	if ti.Location != "" {
		doc["location"] = ti.Location
	}
	if len(doc) == 0 {
		return timeinterval.TimeInterval{}, errors.New("it is empty; give weekdays, times, days of month or months")
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return timeinterval.TimeInterval{}, err
	}
	var out timeinterval.TimeInterval
	if err := json.Unmarshal(b, &out); err != nil {
		return timeinterval.TimeInterval{}, err
	}
	return out, nil
}

// Check is what adding a silence asks beyond Compile: a comment, an end
// after its start and within MaxLength, and, unless forced, matchers that
// do not mute every decision.
func Check(s *fbv1.Silence, force bool) (*Silence, error) {
	c, err := Compile(s)
	if err != nil {
		return nil, err
	}
	var problems []string
	if strings.TrimSpace(s.Comment) == "" {
		problems = append(problems, "give a comment: it is what the muted decisions say, e.g. 'broadband outage north'")
	} else if n := utf8.RuneCountInString(s.Comment); n > MaxComment {
		problems = append(problems, fmt.Sprintf("the comment is %d characters; at most %d", n, MaxComment))
	}
	switch {
	case s.StartsAt == nil || s.EndsAt == nil:
		problems = append(problems, "give a start and an end")
	case !s.EndsAt.AsTime().After(s.StartsAt.AsTime()):
		problems = append(problems, fmt.Sprintf("the end (%s) is not after the start (%s)", stamp(s.EndsAt), stamp(s.StartsAt)))
	case s.EndsAt.AsTime().Sub(s.StartsAt.AsTime()) > MaxLength:
		problems = append(problems, fmt.Sprintf("it lasts %s; at most 366 days", s.EndsAt.AsTime().Sub(s.StartsAt.AsTime()).Round(time.Hour)))
	}
	if !force {
		if why := c.mutesEverything(); why != "" {
			problems = append(problems, why+"; add a matcher that names what to mute (brand=acme, topic=broadband), or force it")
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return c, nil
}

// mutesEverything says why a silence would mute every decision, or "". As
// in Alertmanager, a silence must have a matcher that does not match the
// empty value: brand=~".*" and author!="bot" mute every mention that has
// no such label value, which is nearly all of them.
func (s *Silence) mutesEverything() string {
	if len(s.matchers) == 0 {
		return "it has no matchers, so it would mute every decision"
	}
	for _, m := range s.matchers {
		if !m.matches(nil) {
			return ""
		}
	}
	return "every matcher also matches an empty value, so it would mute nearly every decision"
}

// Active reports whether the silence mutes at now: started, not ended,
// and inside one of its windows if it has any.
func (s *Silence) Active(now time.Time) bool {
	if now.Before(s.StartsAt.AsTime()) || !now.Before(s.EndsAt.AsTime()) {
		return false
	}
	if len(s.intervals) == 0 {
		return true
	}
	return slices.ContainsFunc(s.intervals, func(ti timeinterval.TimeInterval) bool { return ti.ContainsTime(now) })
}

// Matches reports whether every matcher matches the labels.
func (s *Silence) Matches(l Labels) bool {
	for _, m := range s.matchers {
		if !m.matches(l[m.name]) {
			return false
		}
	}
	return true
}

// Find returns the active silence that mutes labels l at now, the one that
// ends last when several do, or nil.
func Find(set []*Silence, l Labels, now time.Time) *Silence {
	var found *Silence
	for _, s := range set {
		if s.Active(now) && s.Matches(l) && (found == nil || s.EndsAt.AsTime().After(found.EndsAt.AsTime())) {
			found = s
		}
	}
	return found
}

// Reason says in plain words that a silence muted a decision: "silenced by
// 'broadband outage north', until 18:00 UTC, by alice".
func Reason(s *fbv1.Silence, now time.Time) *fbv1.Reason {
	text := fmt.Sprintf("silenced by '%s'", s.Comment)
	if len(s.TimeIntervals) > 0 {
		text += " (" + Windows(s.TimeIntervals) + ")"
	}
	return &fbv1.Reason{Code: "silenced", Text: text + ", until " + Until(s.EndsAt.AsTime(), now) + ", by " + s.CreatedBy}
}

// Until is an end time as short as it can be read: "18:00 UTC" today,
// "Tue 1 Dec 18:00 UTC" within a week, else with the year.
func Until(end, now time.Time) string {
	end, now = end.UTC(), now.UTC()
	switch {
	case end.YearDay() == now.YearDay() && end.Year() == now.Year():
		return end.Format("15:04 MST")
	case end.Sub(now) < 7*24*time.Hour:
		return end.Format("Mon 2 Jan 15:04 MST")
	}
	return end.Format("2 Jan 2006 15:04 MST")
}

// Windows describes recurring windows: "sunday 22:00-24:00 Europe/London".
func Windows(tis []*fbv1.TimeInterval) string {
	var out []string
	for _, ti := range tis {
		var parts []string
		parts = append(parts, ti.Weekdays...)
		if len(ti.DaysOfMonth) > 0 {
			parts = append(parts, "days "+strings.Join(ti.DaysOfMonth, ","))
		}
		parts = append(parts, ti.Months...)
		for _, t := range ti.Times {
			parts = append(parts, t.Start+"-"+t.End)
		}
		loc := ti.Location
		if loc == "" {
			loc = "UTC"
		}
		out = append(out, strings.Join(append(parts, loc), " "))
	}
	return strings.Join(out, "; ")
}

func stamp(ts *timestamppb.Timestamp) string { return ts.AsTime().UTC().Format(time.RFC3339) }

// Op is a match type's operator: "=", "!=", "=~", "!~".
func Op(t fbv1.MatchType) string {
	switch t {
	case fbv1.MatchType_MATCH_TYPE_NOT_EQUAL:
		return "!="
	case fbv1.MatchType_MATCH_TYPE_REGEX:
		return "=~"
	case fbv1.MatchType_MATCH_TYPE_NOT_REGEX:
		return "!~"
	}
	return "="
}

// String writes a matcher as it is typed: topic=~"broadband|outage".
func String(m *fbv1.Matcher) string {
	return m.Name + Op(m.Type) + fmt.Sprintf("%q", m.Value)
}

// ParseMatcher reads a matcher as typed on a command line: name, operator
// (=, !=, =~, !~), value, the value optionally in double quotes.
func ParseMatcher(s string) (*fbv1.Matcher, error) {
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return nil, fmt.Errorf("%w: matcher %q: want NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX, NAME one of %s", ErrInvalid, s, strings.Join(Names, ", "))
	}
	name, rest := strings.TrimSpace(s[:i]), s[i:]
	var typ fbv1.MatchType
	for _, op := range []struct {
		text string
		typ  fbv1.MatchType
	}{{"=~", fbv1.MatchType_MATCH_TYPE_REGEX}, {"!~", fbv1.MatchType_MATCH_TYPE_NOT_REGEX}, {"!=", fbv1.MatchType_MATCH_TYPE_NOT_EQUAL}, {"=", fbv1.MatchType_MATCH_TYPE_EQUAL}} {
		if strings.HasPrefix(rest, op.text) {
			typ, rest = op.typ, rest[len(op.text):]
			break
		}
	}
	if typ == fbv1.MatchType_MATCH_TYPE_UNSPECIFIED {
		return nil, fmt.Errorf("%w: matcher %q: the operator is =, !=, =~ or !~", ErrInvalid, s)
	}
	if len(rest) >= 2 && rest[0] == '"' && rest[len(rest)-1] == '"' {
		var unq string
		if err := json.Unmarshal([]byte(rest), &unq); err != nil {
			return nil, fmt.Errorf("%w: matcher %q: the quoted value does not parse: %v", ErrInvalid, s, err)
		}
		rest = unq
	}
	m := &fbv1.Matcher{Name: name, Type: typ, Value: rest}
	if _, err := compileMatcher(m); err != nil {
		return nil, err
	}
	return m, nil
}

// Mute marks an escalating decision d about mention m (a brand reply to
// customer to, or nil), and the case events it caused, as silenced when an active silence in set matches it at now,
// and returns that silence (nil: nothing matched). The mark travels with
// the stored decision and events, so every redelivery and replica agrees
// on it and the notifier needs no second look.
func Mute(set []*Silence, d *fbv1.Decision, m *fbv1.Mention, to *fbv1.Author, events []*fbv1.CaseEvent, now time.Time) *Silence {
	// With no silences (the usual), the labels are not worth making.
	if !d.Escalate || len(set) == 0 {
		return nil
	}
	s := Find(set, OfDecision(d, m, to), now)
	if s == nil {
		return nil
	}
	why := Reason(s.Silence, now)
	d.Silenced = s.Silence
	d.Reasons = append(slices.Clip(d.Reasons), why)
	mark(s, why, events)
	return s
}

// MuteCase marks events that a case's clocks caused (a chain level, a
// first-response warning) as silenced when a silence matches the case.
func MuteCase(set []*Silence, c *fbv1.Case, events []*fbv1.CaseEvent, now time.Time) *Silence {
	if len(set) == 0 {
		return nil
	}
	s := Find(set, OfCase(c), now)
	if s != nil {
		mark(s, Reason(s.Silence, now), events)
	}
	return s
}

func mark(s *Silence, why *fbv1.Reason, events []*fbv1.CaseEvent) {
	for _, e := range events {
		e.Silenced = s.Silence
		e.Reasons = append(slices.Clip(e.Reasons), why)
	}
}
