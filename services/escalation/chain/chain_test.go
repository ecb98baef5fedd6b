package chain

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// senior is a two-level chain that runs twice (one repeat) and resumes an
// acknowledgement after two hours without a reply.
func senior() Chain {
	return Chain{
		Name: "senior",
		Levels: []Level{
			{Receivers: []string{"senior-oncall"}, AckTimeout: 5 * time.Minute},
			{Receivers: []string{"head-of-social"}, AckTimeout: 10 * time.Minute},
		},
		Repeat:    1,
		AckExpiry: 2 * time.Hour,
	}
}

func TestNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		chain  Chain
		status Status
		want   Step
		ok     bool
	}{
		{
			name:   "new case fires first level at once",
			chain:  senior(),
			status: Status{State: Open, FiredAt: t0},
			want:   Step{Level: 1, At: t0, Receivers: []string{"senior-oncall"}, Cause: Opened},
			ok:     true,
		},
		{
			name:   "unacknowledged level fires the next after its timeout",
			chain:  senior(),
			status: Status{State: Open, Level: 1, FiredAt: t0},
			want:   Step{Level: 2, At: t0.Add(5 * time.Minute), Receivers: []string{"head-of-social"}, Cause: TimedOut},
			ok:     true,
		},
		{
			name:   "last level wraps to the first while repeats remain",
			chain:  senior(),
			status: Status{State: Open, Level: 2, FiredAt: t0},
			want:   Step{Level: 1, Round: 1, At: t0.Add(10 * time.Minute), Receivers: []string{"senior-oncall"}, Cause: TimedOut},
			ok:     true,
		},
		{
			name:   "second round climbs to the last level",
			chain:  senior(),
			status: Status{State: Open, Level: 1, Round: 1, FiredAt: t0},
			want:   Step{Level: 2, Round: 1, At: t0.Add(5 * time.Minute), Receivers: []string{"head-of-social"}, Cause: TimedOut},
			ok:     true,
		},
		{
			name:   "chain ends after its last repeat",
			chain:  senior(),
			status: Status{State: Open, Level: 2, Round: 1, FiredAt: t0},
		},
		{
			name:   "chain without repeats ends after its last level",
			chain:  Chain{Levels: []Level{{Receivers: []string{"queue"}, AckTimeout: time.Minute}}},
			status: Status{State: Open, Level: 1, FiredAt: t0},
		},
		{
			name:   "resolved case fires nothing",
			chain:  senior(),
			status: Status{State: Resolved, Level: 1, FiredAt: t0},
		},
		{
			name:   "acknowledged case without reply resumes at the next level when the ack expires",
			chain:  senior(),
			status: Status{State: Acknowledged, Level: 1, FiredAt: t0, AckedAt: t0.Add(time.Minute)},
			want:   Step{Level: 2, At: t0.Add(time.Minute + 2*time.Hour), Receivers: []string{"head-of-social"}, Cause: AckExpired},
			ok:     true,
		},
		{
			name:   "acknowledged case answered after the ack stays quiet",
			chain:  senior(),
			status: Status{State: Acknowledged, Level: 1, FiredAt: t0, AckedAt: t0.Add(time.Minute), RepliedAt: t0.Add(30 * time.Minute)},
		},
		{
			name:  "reply before the ack but after the complaint counts as an answer",
			chain: senior(),
			status: Status{State: Acknowledged, Level: 1, FiredAt: t0, ComplainedAt: t0.Add(-time.Minute),
				RepliedAt: t0.Add(time.Minute), AckedAt: t0.Add(2 * time.Minute)},
		},
		{
			name:  "reply older than the latest complaint does not count",
			chain: senior(),
			status: Status{State: Acknowledged, Level: 1, FiredAt: t0, ComplainedAt: t0,
				RepliedAt: t0.Add(-time.Hour), AckedAt: t0.Add(time.Minute)},
			want: Step{Level: 2, At: t0.Add(time.Minute + 2*time.Hour), Receivers: []string{"head-of-social"}, Cause: AckExpired},
			ok:   true,
		},
		{
			name:   "ack expiry at the end of the chain pages the last level again",
			chain:  senior(),
			status: Status{State: Acknowledged, Level: 2, Round: 1, FiredAt: t0, AckedAt: t0},
			want:   Step{Level: 2, Round: 1, At: t0.Add(2 * time.Hour), Receivers: []string{"head-of-social"}, Cause: AckExpired},
			ok:     true,
		},
		{
			name:   "chain without ack expiry stops for good on ack",
			chain:  Chain{Levels: senior().Levels},
			status: Status{State: Acknowledged, Level: 1, FiredAt: t0, AckedAt: t0},
		},
		{
			name:   "level beyond a shortened chain ends it",
			chain:  Chain{Levels: senior().Levels[:1]},
			status: Status{State: Open, Level: 2, FiredAt: t0},
		},
		{
			name:   "empty chain fires nothing",
			chain:  Chain{},
			status: Status{State: Open, FiredAt: t0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.chain.Next(tt.status)
			if ok != tt.ok {
				t.Fatalf("Next ok = %v, want %v (step %+v)", ok, tt.ok, got)
			}
			if !ok {
				return
			}
			if got.Level != tt.want.Level || got.Round != tt.want.Round || !got.At.Equal(tt.want.At) ||
				got.Cause != tt.want.Cause || strings.Join(got.Receivers, ",") != strings.Join(tt.want.Receivers, ",") {
				t.Errorf("Next = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestChainPagesEveryLevelOnceThenStops walks a chain that nobody
// acknowledges, feeding each step back in as the case's status.
func TestChainPagesEveryLevelOnceThenStops(t *testing.T) {
	t.Parallel()
	c := senior()
	s := Status{State: Open, FiredAt: t0}
	var fired []string
	for range 10 {
		step, ok := c.Next(s)
		if !ok {
			break
		}
		fired = append(fired, step.Receivers[0]+"@"+step.At.Sub(t0).String())
		s = Status{State: Open, Level: step.Level, Round: step.Round, FiredAt: step.At}
	}
	want := "senior-oncall@0s head-of-social@5m0s senior-oncall@15m0s head-of-social@20m0s"
	if got := strings.Join(fired, " "); got != want {
		t.Errorf("fired %s\nwant  %s", got, want)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	c := Chain{Levels: []Level{{}, {Receivers: []string{""}, AckTimeout: time.Minute}}, Repeat: -1, AckExpiry: -time.Second}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken chain")
	}
	for _, want := range []string{"level 1: no receivers", "level 1: ack_timeout", "level 2: empty receiver", "repeat", "ack_expiry"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := senior().Validate(); err != nil {
		t.Errorf("Validate refused a good chain: %v", err)
	}
	if err := (Chain{}).Validate(); err == nil || !strings.Contains(err.Error(), "no levels") {
		t.Errorf("Validate of an empty chain = %v, want no levels", err)
	}
}
