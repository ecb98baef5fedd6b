// Package hours counts time in a brand's business hours: a first-response
// target of 30 minutes set at Friday 16:45, in a week of 09:00–17:00, falls
// due on Monday at 09:15. It works in the brand's time zone on wall clocks,
// so daylight-saving changes and holidays never move a reminder into the
// night. It does no I/O.
package hours

import (
	// Brands name their own time zones; a container image may carry none.
	_ "time/tzdata"

	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Schedule is when a brand counts time. The zero Schedule is always open:
// time counts around the clock.
type Schedule struct {
	loc      *time.Location
	days     [7]bool // by time.Weekday
	open     time.Duration
	close    time.Duration
	holidays map[civilDate]bool
}

type civilDate struct {
	year  int
	month time.Month
	day   int
}

func dateOf(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, m, d}
}

// Spec is a Schedule as written in a policy.
type Spec struct {
	// Timezone is an IANA name, "Europe/London".
	Timezone string `yaml:"timezone"`
	// Days are weekday names: mon, tue, ... (default mon–fri).
	Days []string `yaml:"days"`
	// Start and End are wall-clock times, "09:00" and "17:30".
	Start string `yaml:"start"`
	End   string `yaml:"end"`
	// Holidays are dates, "2026-12-25", on which no time counts.
	Holidays []string `yaml:"holidays"`
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Parse checks a Spec and reports every problem at once.
func Parse(s Spec) (Schedule, error) {
	var errs []error
	out := Schedule{holidays: map[civilDate]bool{}}
	var err error
	if s.Timezone == "" {
		errs = append(errs, errors.New("timezone is missing: name the brand's time zone, such as Europe/London"))
	} else if out.loc, err = time.LoadLocation(s.Timezone); err != nil {
		errs = append(errs, fmt.Errorf("timezone %q is not a known IANA time zone (such as Europe/London)", s.Timezone))
	}
	days := s.Days
	if len(days) == 0 {
		days = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	for _, d := range days {
		name := strings.ToLower(strings.TrimSpace(d))
		wd, ok := weekdays[name[:min(3, len(name))]]
		if !ok {
			errs = append(errs, fmt.Errorf("day %q: want mon, tue, wed, thu, fri, sat or sun", d))
			continue
		}
		out.days[wd] = true
	}
	if out.open, err = clock(s.Start); err != nil {
		errs = append(errs, fmt.Errorf("start: %w", err))
	}
	if out.close, err = clock(s.End); err != nil {
		errs = append(errs, fmt.Errorf("end: %w", err))
	}
	if out.close <= out.open && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("end %s is not after start %s; hours across midnight are not supported", s.End, s.Start))
	}
	for _, h := range s.Holidays {
		d, err := time.Parse(time.DateOnly, h)
		if err != nil {
			errs = append(errs, fmt.Errorf("holiday %q: want a date such as 2026-12-25", h))
			continue
		}
		out.holidays[dateOf(d)] = true
	}
	if err := errors.Join(errs...); err != nil {
		return Schedule{}, err
	}
	return out, nil
}

// clock parses "09:00" into the time since midnight.
func clock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q: want a wall-clock time such as 09:00", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// AlwaysOpen reports whether time counts around the clock.
func (s Schedule) AlwaysOpen() bool { return s.loc == nil }

// String describes the schedule, "mon–fri 09:00–17:00 Europe/London".
func (s Schedule) String() string {
	if s.AlwaysOpen() {
		return "around the clock"
	}
	var names []string
	for _, wd := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if s.days[wd] {
			names = append(names, strings.ToLower(wd.String()[:3]))
		}
	}
	return fmt.Sprintf("%s %s–%s %s", strings.Join(names, ","), hhmm(s.open), hhmm(s.close), s.loc)
}

func hhmm(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60)
}

// maxDays bounds the search for open time, so a schedule open one day a
// year still ends; Parse refuses schedules with no open day at all.
const maxDays = 3 * 366

// Add returns the moment d of open time after start. Time before the first
// opening, after closing, on closed days and on holidays does not count.
func (s Schedule) Add(start time.Time, d time.Duration) time.Time {
	if s.AlwaysOpen() || d < 0 {
		return start.Add(d)
	}
	t := start.In(s.loc)
	for range maxDays {
		open, close, ok := s.window(t)
		if ok && t.Before(close) {
			if t.Before(open) {
				t = open
			}
			if left := close.Sub(t); d <= left {
				return t.Add(d)
			} else {
				d -= left
			}
		}
		y, m, day := t.Date()
		t = time.Date(y, m, day+1, 0, 0, 0, 0, s.loc)
	}
	return t
}

// window returns the open interval of t's day, if the day is open.
func (s Schedule) window(t time.Time) (open, close time.Time, ok bool) {
	if !s.days[t.Weekday()] || s.holidays[dateOf(t)] {
		return time.Time{}, time.Time{}, false
	}
	return s.at(t, s.open), s.at(t, s.close), true
}

// at is the wall-clock time since midnight on t's date, built with
// time.Date so that a daylight-saving change that day is honoured.
func (s Schedule) at(t time.Time, since time.Duration) time.Time {
	y, m, d := t.Date()
	mins := int(since / time.Minute)
	return time.Date(y, m, d, mins/60, mins%60, 0, 0, s.loc)
}

// Open reports whether t falls in open time.
func (s Schedule) Open(t time.Time) bool {
	if s.AlwaysOpen() {
		return true
	}
	t = t.In(s.loc)
	open, close, ok := s.window(t)
	return ok && !t.Before(open) && t.Before(close)
}

// Days lists the open weekdays, for documentation and checks.
func (s Schedule) Days() []time.Weekday {
	var out []time.Weekday
	for wd, open := range s.days {
		if open {
			out = append(out, time.Weekday(wd))
		}
	}
	slices.Sort(out)
	return out
}
