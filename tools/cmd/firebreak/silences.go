package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/silence"
)

// listFlag collects a flag given several times, or comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

func runSilencesAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f escalationFlags
	fs := newFlagSet("silences add", stderr)
	f.register(fs)
	comment := fs.String("comment", "", "why, in words the muted decisions will quote (required), e.g. 'broadband outage north'")
	start := fs.String("start", "", "when it starts: RFC 3339, or HH:MM (the next one) in --location (default now)")
	end := fs.String("end", "", "when it ends: RFC 3339, or HH:MM (the next one after the start) in --location")
	duration := fs.Duration("duration", time.Hour, "how long it lasts, when --end is not given")
	force := fs.Bool("force", false, "accept a silence with no matchers, or whose matchers match every decision")
	var weekdays, times, days, months listFlag
	fs.Var(&weekdays, "weekdays", "recurring: only on these weekdays, e.g. sunday or monday:friday (repeatable)")
	fs.Var(&times, "times", "recurring: only at these times of day, e.g. 22:00-24:00 (repeatable)")
	fs.Var(&days, "days-of-month", "recurring: only on these days of the month, e.g. 1:7 or -1 (repeatable)")
	fs.Var(&months, "months", "recurring: only in these months, e.g. january:march (repeatable)")
	location := fs.String("location", "", "time zone of the recurring window and of HH:MM times, e.g. Europe/London (default UTC)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	sil := &fbv1.Silence{Comment: *comment}
	for _, typed := range pos {
		m, err := silence.ParseMatcher(typed)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		sil.Matchers = append(sil.Matchers, m)
	}
	loc := time.UTC
	if *location != "" {
		if loc, err = time.LoadLocation(*location); err != nil {
			return fmt.Errorf("%w: --location %q: %v", errUsage, *location, err)
		}
	}
	now := time.Now()
	from := now
	if *start != "" {
		if from, err = parseWhen(*start, now, loc); err != nil {
			return fmt.Errorf("%w: --start: %v", errUsage, err)
		}
		sil.StartsAt = timestamppb.New(from)
	}
	until := from.Add(*duration)
	if *end != "" {
		if until, err = parseWhen(*end, from, loc); err != nil {
			return fmt.Errorf("%w: --end: %v", errUsage, err)
		}
	}
	sil.EndsAt = timestamppb.New(until)
	if len(weekdays)+len(times)+len(days)+len(months) > 0 {
		ti := &fbv1.TimeInterval{Weekdays: weekdays, DaysOfMonth: days, Months: months, Location: *location}
		for _, t := range times {
			from, to, ok := strings.Cut(t, "-")
			if !ok {
				return fmt.Errorf("%w: --times %q: want START-END, e.g. 22:00-24:00", errUsage, t)
			}
			ti.Times = append(ti.Times, &fbv1.TimeRange{Start: from, End: to})
		}
		sil.TimeIntervals = []*fbv1.TimeInterval{ti}
	}
	var resp *fbv1.AddSilenceResponse
	err = f.call(ctx, func(ctx context.Context, client fbv1.EscalationServiceClient) (err error) {
		resp, err = client.AddSilence(ctx, &fbv1.AddSilenceRequest{Silence: sil, Force: *force})
		return err
	})
	if err != nil {
		return fmt.Errorf("add silence at %s: %w", f.addr, err)
	}
	if f.output == "json" {
		return printJSON(stdout, resp)
	}
	s := resp.Silence
	fmt.Fprintf(stdout, "Silence %s added by %s: %s\n", s.Id, s.CreatedBy, matcherList(s.Matchers))
	fmt.Fprintf(stdout, "  from %s until %s", stamp(s.StartsAt), stamp(s.EndsAt))
	if len(s.TimeIntervals) > 0 {
		fmt.Fprintf(stdout, ", only %s", silence.Windows(s.TimeIntervals))
	}
	fmt.Fprintf(stdout, "\n  %q\n", s.Comment)
	return nil
}

// parseWhen reads RFC 3339, or HH:MM as the first such time after after,
// in loc.
func parseWhen(s string, after time.Time, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	hm, err := time.ParseInLocation("15:04", s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-11-30T18:00:00Z) nor HH:MM", s)
	}
	a := after.In(loc)
	t := time.Date(a.Year(), a.Month(), a.Day(), hm.Hour(), hm.Minute(), 0, 0, loc)
	if !t.After(after) {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

func stamp(ts *timestamppb.Timestamp) string {
	return ts.AsTime().UTC().Format("2006-01-02 15:04 MST")
}

func matcherList(ms []*fbv1.Matcher) string {
	if len(ms) == 0 {
		return "every decision"
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = silence.String(m)
	}
	return strings.Join(out, " ")
}

func runSilencesList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f escalationFlags
	fs := newFlagSet("silences list", stderr)
	f.register(fs)
	expired := fs.Bool("expired", false, "also list silences that ended in the last 24 hours")
	audit := fs.Int("audit", 0, "also show the latest N audit entries (who added and expired what)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var resp *fbv1.ListSilencesResponse
	err := f.call(ctx, func(ctx context.Context, client fbv1.EscalationServiceClient) (err error) {
		resp, err = client.ListSilences(ctx, &fbv1.ListSilencesRequest{Expired: *expired, Audit: int32(*audit)})
		return err
	})
	if err != nil {
		return fmt.Errorf("list silences from %s: %w", f.addr, err)
	}
	if f.output == "json" {
		return printJSON(stdout, resp)
	}
	printSilences(stdout, resp, time.Now())
	return nil
}

func printSilences(w io.Writer, resp *fbv1.ListSilencesResponse, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tMATCHERS\tSTARTS\tENDS\tCREATED BY\tCOMMENT")
	for _, s := range resp.Silences {
		matchers := matcherList(s.Matchers)
		if len(s.TimeIntervals) > 0 {
			matchers += " [" + silence.Windows(s.TimeIntervals) + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Id, silenceState(s, now), matchers, stamp(s.StartsAt), stamp(s.EndsAt), s.CreatedBy, s.Comment)
	}
	_ = tw.Flush()
	if len(resp.Audit) == 0 {
		return
	}
	fmt.Fprintln(w, "Audit (newest first):")
	for _, a := range resp.Audit {
		fmt.Fprintf(w, "  %s  %-7s %s by %s: %s %q\n", stamp(a.At), a.Action, a.Silence.GetId(), a.Actor, matcherList(a.Silence.GetMatchers()), a.Silence.GetComment())
	}
}

func silenceState(s *fbv1.Silence, now time.Time) string {
	switch {
	case !now.Before(s.EndsAt.AsTime()):
		if s.ExpiredBy != "" {
			return "expired by " + s.ExpiredBy
		}
		return "ended"
	case now.Before(s.StartsAt.AsTime()):
		return "pending"
	}
	return "active"
}

func runSilencesExpire(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f escalationFlags
	fs := newFlagSet("silences expire", stderr)
	f.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("%w: give the ids of the silences to end, as firebreak silences list shows them", errUsage)
	}
	return f.call(ctx, func(ctx context.Context, client fbv1.EscalationServiceClient) error {
		for _, id := range pos {
			resp, err := client.ExpireSilence(ctx, &fbv1.ExpireSilenceRequest{Id: id})
			if err != nil {
				return fmt.Errorf("expire silence %s at %s: %w", id, f.addr, err)
			}
			fmt.Fprintf(stdout, "Silence %s ended at %s (%s)\n", id, stamp(resp.Silence.EndsAt), resp.Silence.Comment)
		}
		return nil
	})
}

var _ flag.Value = (*listFlag)(nil)
