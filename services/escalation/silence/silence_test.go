package silence

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

var now = time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC) // a Monday

func matchers(t *testing.T, typed ...string) []*fbv1.Matcher {
	t.Helper()
	var out []*fbv1.Matcher
	for _, s := range typed {
		m, err := ParseMatcher(s)
		if err != nil {
			t.Fatalf("matcher %q: %v", s, err)
		}
		out = append(out, m)
	}
	return out
}

func silence(t *testing.T, typed ...string) *fbv1.Silence {
	t.Helper()
	return &fbv1.Silence{Id: "s1", Matchers: matchers(t, typed...), Comment: "broadband outage north", CreatedBy: "alice",
		StartsAt: timestamppb.New(now.Add(-time.Hour)), EndsAt: timestamppb.New(now.Add(3 * time.Hour))}
}

func outage() Labels {
	return Labels{"brand": {"acme"}, "platform": {"x"}, "topic": {"broadband", "billing"}, "author": {"dan", "u42"}, "team": {"standard"}, "route": {"standard"}}
}

func TestMatchersFollowAlertmanagerWithLabelsOfManyValues(t *testing.T) {
	for _, tc := range []struct {
		matchers []string
		want     bool
	}{
		{[]string{"brand=acme"}, true},
		{[]string{"brand=acme", "topic=broadband"}, true},
		{[]string{"brand=acme", "topic=mobile"}, false},
		{[]string{"topic!=mobile"}, true},
		{[]string{"topic!=billing"}, false}, // one of its topics is billing
		{[]string{`topic=~"broad.*"`}, true},
		{[]string{"topic=~broad"}, false}, // anchored at both ends
		{[]string{"route!~senior|rival"}, true},
		{[]string{"author=@dan"}, true},
		{[]string{"author=u42"}, true}, // the platform id works as well as the handle
		{[]string{"author=ana"}, false},
		{[]string{"platform=mastodon"}, false},
		{[]string{"team=standard", "brand!=acme"}, false},
	} {
		c, err := Compile(silence(t, tc.matchers...))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Matches(outage()); got != tc.want {
			t.Errorf("%v on the outage complaint: %v, want %v", tc.matchers, got, tc.want)
		}
	}
}

func TestMentionWithoutTopicsHasTheEmptyTopic(t *testing.T) {
	l := outage()
	l["topic"] = nil
	for typed, want := range map[string]bool{`topic=""`: true, "topic!=broadband": true, "topic=broadband": false} {
		c, _ := Compile(silence(t, typed))
		if c.Matches(l) != want {
			t.Errorf("%s on a mention without topics: %v, want %v", typed, !want, want)
		}
	}
}

func TestBadSilencesAreRefusedSayingWhy(t *testing.T) {
	long := silence(t, "brand=acme")
	long.EndsAt = timestamppb.New(now.Add(400 * 24 * time.Hour))
	backwards := silence(t, "brand=acme")
	backwards.EndsAt = timestamppb.New(now.Add(-2 * time.Hour))
	noComment := silence(t, "brand=acme")
	noComment.Comment = " "
	badZone := silence(t, "brand=acme")
	badZone.TimeIntervals = []*fbv1.TimeInterval{{Weekdays: []string{"sunday"}, Location: "Mars/Olympus"}}
	badDay := silence(t, "brand=acme")
	badDay.TimeIntervals = []*fbv1.TimeInterval{{Weekdays: []string{"someday"}}}
	for name, tc := range map[string]struct {
		s    *fbv1.Silence
		says string
	}{
		"no matchers":         {silence(t), "no matchers"},
		"matches everything":  {silence(t, "brand=~.*", "author!=bot"), "empty value"},
		"end before start":    {backwards, "is not after the start"},
		"a year and more":     {long, "at most 366 days"},
		"no comment":          {noComment, "give a comment"},
		"unknown time zone":   {badZone, "Mars/Olympus"},
		"unknown weekday":     {badDay, "someday"},
		"bad regex":           {&fbv1.Silence{Matchers: []*fbv1.Matcher{{Name: "topic", Type: fbv1.MatchType_MATCH_TYPE_REGEX, Value: "(broad"}}}, "missing closing )"},
		"regex too large":     {&fbv1.Silence{Matchers: []*fbv1.Matcher{{Name: "topic", Type: fbv1.MatchType_MATCH_TYPE_REGEX, Value: "(broadband|outage){250}"}}}, "instructions"},
		"unknown label":       {&fbv1.Silence{Matchers: []*fbv1.Matcher{{Name: "severity", Type: fbv1.MatchType_MATCH_TYPE_EQUAL, Value: "x"}}}, "unknown label"},
		"unknown platform":    {&fbv1.Silence{Matchers: []*fbv1.Matcher{{Name: "platform", Type: fbv1.MatchType_MATCH_TYPE_EQUAL, Value: "twitter"}}}, "none of x, mastodon"},
		"matcher without op":  {&fbv1.Silence{Matchers: []*fbv1.Matcher{{Name: "brand", Value: "acme"}}}, "no operator"},
		"too many matchers":   {&fbv1.Silence{Matchers: make([]*fbv1.Matcher, MaxMatchers+1)}, "at most 16"},
		"regex value too big": {&fbv1.Silence{Matchers: []*fbv1.Matcher{{Name: "topic", Type: fbv1.MatchType_MATCH_TYPE_REGEX, Value: strings.Repeat("a", 300)}}}, "at most 256"},
	} {
		_, err := Check(tc.s, false)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want a refusal saying %q", name, err, tc.says)
		}
	}
}

func TestForceAcceptsASilenceOfEverythingButNotABackwardsOne(t *testing.T) {
	if _, err := Check(silence(t), true); err != nil {
		t.Fatalf("forced silence of everything: %v", err)
	}
	backwards := silence(t)
	backwards.StartsAt, backwards.EndsAt = backwards.EndsAt, backwards.StartsAt
	if _, err := Check(backwards, true); err == nil {
		t.Fatal("force must not accept an end before the start")
	}
}

func TestParseMatcherReadsEveryOperator(t *testing.T) {
	for typed, want := range map[string]string{
		"brand=acme":                `brand="acme"`,
		"author!=troll":             `author!="troll"`,
		`topic=~"broadband|outage"`: `topic=~"broadband|outage"`,
		"route!~rival.*":            `route!~"rival.*"`,
		`team=""`:                   `team=""`,
	} {
		m, err := ParseMatcher(typed)
		if err != nil || String(m) != want {
			t.Errorf("%s: %v %v, want %s", typed, m, err, want)
		}
	}
	for _, bad := range []string{"brand", "=acme", "brand~acme", `topic=~"(a"`} {
		if _, err := ParseMatcher(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestRecurringSilenceMutesOnlyInsideItsWindow(t *testing.T) {
	s := silence(t, "brand=acme")
	s.StartsAt, s.EndsAt = timestamppb.New(now.Add(-30*24*time.Hour)), timestamppb.New(now.Add(300*24*time.Hour))
	s.TimeIntervals = []*fbv1.TimeInterval{{Weekdays: []string{"sunday"}, Times: []*fbv1.TimeRange{{Start: "22:00", End: "24:00"}}, Location: "Europe/London"}}
	c, err := Check(s, false)
	if err != nil {
		t.Fatal(err)
	}
	sunday := time.Date(2026, 12, 6, 22, 30, 0, 0, time.UTC) // London is on UTC in December
	for at, want := range map[time.Time]bool{sunday: true, sunday.Add(-time.Hour): false, sunday.Add(24 * time.Hour): false, now: false} {
		if c.Active(at) != want {
			t.Errorf("active at %s: %v, want %v", at.Format(time.RFC1123), !want, want)
		}
	}
	if r := Reason(s, sunday); !strings.Contains(r.Text, "(sunday 22:00-24:00 Europe/London)") {
		t.Errorf("reason %q does not describe the window", r.Text)
	}
}

func TestMuteExplainsTheDecisionAndMarksItsEvents(t *testing.T) {
	c, _ := Check(silence(t, "brand=acme", "topic=broadband"), false)
	m := &fbv1.Mention{Id: "x:1", Brand: "acme", Platform: fbv1.Platform_PLATFORM_X, Author: &fbv1.Author{Id: "u42", Handle: "dan"}}
	d := &fbv1.Decision{Escalate: true, Team: "standard", Route: "standard", Score: &fbv1.Score{Topics: []string{"broadband"}},
		Reasons: []*fbv1.Reason{{Code: "complaint", Text: "complaint"}}}
	caseReasons := d.Reasons
	opened := &fbv1.CaseEvent{Type: fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, Reasons: d.Reasons}
	if Mute([]*Silence{c}, d, m, nil, []*fbv1.CaseEvent{opened}, now) == nil {
		t.Fatal("the outage silence did not match")
	}
	want := "silenced by 'broadband outage north', until 18:00 UTC, by alice"
	if d.Silenced.GetId() != "s1" || d.Reasons[len(d.Reasons)-1].Text != want {
		t.Fatalf("decision %v, want it silenced and saying %q", d, want)
	}
	if opened.Silenced.GetId() != "s1" || opened.Reasons[len(opened.Reasons)-1].Text != want {
		t.Fatalf("event %v not marked", opened)
	}
	if len(caseReasons) != 1 {
		t.Fatalf("the case's own reasons changed: %v", caseReasons)
	}
	quiet := &fbv1.Decision{Escalate: false, Team: "standard", Score: &fbv1.Score{Topics: []string{"broadband"}}}
	if Mute([]*Silence{c}, quiet, m, nil, nil, now) != nil || quiet.Silenced != nil {
		t.Fatal("a decision that pages nobody needs no silence")
	}
	if Mute([]*Silence{c}, d, m, nil, nil, now.Add(4*time.Hour)) != nil {
		t.Fatal("an ended silence still muted")
	}
}

func TestFindPrefersTheSilenceThatEndsLast(t *testing.T) {
	short, _ := Compile(silence(t, "brand=acme"))
	long := silence(t, "author=dan")
	long.Id, long.EndsAt = "s2", timestamppb.New(now.Add(48*time.Hour))
	longer, _ := Compile(long)
	if got := Find([]*Silence{short, longer}, outage(), now); got.GetId() != "s2" {
		t.Fatalf("found %v, want s2", got)
	}
	if got := Reason(long, now); !strings.Contains(got.Text, "until Wed 2 Dec 15:00 UTC") {
		t.Fatalf("reason %q", got.Text)
	}
}
