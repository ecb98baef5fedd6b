package hours

import (
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, s Spec) Schedule {
	t.Helper()
	sch, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%+v): %v", s, err)
	}
	return sch
}

func TestAddCountsOnlyOpenTime(t *testing.T) {
	london := mustParse(t, Spec{Timezone: "Europe/London", Start: "09:00", End: "17:00", Holidays: []string{"2026-12-25", "2026-12-28"}})
	loc, _ := time.LoadLocation("Europe/London")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		start string
		add   time.Duration
		want  string
	}{
		{"friday afternoon carries to monday", "2026-11-27 16:45", 30 * time.Minute, "2026-11-30 09:15"},
		{"inside one day", "2026-11-30 10:00", time.Hour, "2026-11-30 11:00"},
		{"exactly at closing", "2026-11-30 16:00", time.Hour, "2026-11-30 17:00"},
		{"before opening starts at opening", "2026-11-30 03:00", 15 * time.Minute, "2026-11-30 09:15"},
		{"after closing starts next morning", "2026-11-30 20:00", 15 * time.Minute, "2026-12-01 09:15"},
		{"weekend starts monday", "2026-11-28 12:00", 15 * time.Minute, "2026-11-30 09:15"},
		{"holidays are skipped", "2026-12-24 16:30", time.Hour, "2026-12-29 09:30"},
		{"spans several days", "2026-11-30 09:00", 20 * time.Hour, "2026-12-02 13:00"},
		// Clocks go back on 2026-10-25 in London: 09:00 is still 09:00.
		{"daylight saving change keeps wall clock", "2026-10-23 16:30", time.Hour, "2026-10-26 09:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := london.Add(at(tt.start), tt.add)
			if want := at(tt.want); !got.Equal(want) {
				t.Errorf("Add(%s, %s) = %s, want %s", tt.start, tt.add, got.In(loc).Format("Mon 2006-01-02 15:04"), want.Format("Mon 2006-01-02 15:04"))
			}
			if tt.add > 0 && !london.Open(got.Add(-time.Minute)) {
				t.Errorf("the minute before %s is not open time", got.In(loc))
			}
		})
	}
}

func TestZeroScheduleIsAlwaysOpen(t *testing.T) {
	var s Schedule
	start := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	if got := s.Add(start, 15*time.Minute); !got.Equal(start.Add(15 * time.Minute)) {
		t.Errorf("Add = %s, want 15 minutes later", got)
	}
	if !s.Open(start) {
		t.Error("zero schedule is closed at 03:00")
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse(Spec{Timezone: "Mars/Olympus", Days: []string{"funday"}, Start: "9am", End: "17:00", Holidays: []string{"xmas"}})
	if err == nil {
		t.Fatal("bad schedule accepted")
	}
	for _, want := range []string{"Mars/Olympus", "funday", "start", "xmas"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := Parse(Spec{Timezone: "UTC", Start: "17:00", End: "09:00"}); err == nil || !strings.Contains(err.Error(), "not after start") {
		t.Errorf("hours across midnight: err = %v", err)
	}
}
