package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/wording"
)

// escalationFlags are the flags of every command that talks to escalation.
type escalationFlags struct {
	conn    connFlags
	addr    string
	timeout time.Duration
	output  string
}

func (f *escalationFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "escalation", envOr("FIREBREAK_ESCALATION_ADDR", "127.0.0.1:9093"), "escalation gRPC address (env FIREBREAK_ESCALATION_ADDR)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to wait for an answer")
	fs.StringVar(&f.output, "o", "table", "output: table or json")
	f.conn.register(fs)
}

func (f *escalationFlags) dial() (fbv1.EscalationServiceClient, *grpc.ClientConn, error) {
	conn, err := f.conn.dial(f.addr)
	if err != nil {
		return nil, nil, err
	}
	return fbv1.NewEscalationServiceClient(conn), conn, nil
}

// call dials escalation and makes one call, bounded by --timeout.
func (f *escalationFlags) call(ctx context.Context, do func(context.Context, fbv1.EscalationServiceClient) error) error {
	return f.conn.call(ctx, f.addr, f.timeout, func(ctx context.Context, conn *grpc.ClientConn) error {
		return do(ctx, fbv1.NewEscalationServiceClient(conn))
	})
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("firebreak "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func runCasesList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f escalationFlags
	fs := newFlagSet("cases list", stderr)
	f.register(fs)
	state := fs.String("state", "", "only cases in this state: open, acknowledged or resolved")
	team := fs.String("team", "", "only cases of this team")
	priority := fs.String("priority", "", "only cases of this priority: low, normal, high or critical")
	brand := fs.String("brand", "", "only cases about this brand")
	assignee := fs.String("assignee", "", "only cases assigned to this person")
	kind := fs.String("kind", "", "only cases of this kind: incident")
	limit := fs.Int("limit", 50, "most cases to show")
	if err := fs.Parse(args); err != nil {
		return err
	}
	req := &fbv1.ListCasesRequest{Team: *team, Brand: *brand, Assignee: *assignee, PageSize: int32(*limit)}
	if *state != "" {
		v, ok := fbv1.CaseState_value["CASE_STATE_"+strings.ToUpper(*state)]
		if !ok {
			return fmt.Errorf("%w: --state %q: use open, acknowledged or resolved", errUsage, *state)
		}
		req.State = fbv1.CaseState(v)
	}
	switch *kind {
	case "":
	case "incident":
		req.Kind = fbv1.CaseKind_CASE_KIND_INCIDENT
	default:
		return fmt.Errorf("%w: --kind %q: use incident (or leave it out for every case)", errUsage, *kind)
	}
	if *priority != "" {
		v, ok := fbv1.Priority_value["PRIORITY_"+strings.ToUpper(*priority)]
		if !ok {
			return fmt.Errorf("%w: --priority %q: use low, normal, high or critical", errUsage, *priority)
		}
		req.Priority = fbv1.Priority(v)
	}
	var resp *fbv1.ListCasesResponse
	err := f.call(ctx, func(ctx context.Context, client fbv1.EscalationServiceClient) (err error) {
		resp, err = client.ListCases(ctx, req)
		return err
	})
	if err != nil {
		return fmt.Errorf("list cases from %s: %w", f.addr, err)
	}
	if f.output == "json" {
		return printJSON(stdout, resp)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tPRIORITY\tTEAM\tBRAND\tAUTHOR\tMENTIONS\tUPDATED\tREASON")
	for _, c := range resp.Cases {
		reason := ""
		if len(c.Reasons) > 0 {
			reason = c.Reasons[0].Text
		}
		who, mentions := "@"+c.Author.GetHandle(), max(c.MentionsTotal, int64(len(c.MentionIds)))
		if c.Kind == fbv1.CaseKind_CASE_KIND_INCIDENT {
			// An incident's author is the crowd: its members count.
			who, mentions = "incident", c.Incident.GetMembersTotal()
		} else if c.IncidentId != "" {
			who += " (in " + c.IncidentId + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", c.Id, word(c.State.String(), "CASE_STATE_"),
			word(c.Priority.String(), "PRIORITY_"), c.Team, c.Brand, who, mentions,
			c.UpdatedAt.AsTime().Local().Format(time.DateTime), reason)
	}
	return tw.Flush()
}

func runCasesGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f escalationFlags
	fs := newFlagSet("cases get", stderr)
	f.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: give one case id, e.g. firebreak cases get 3fa9c2e1b04d5a6e-1", errUsage)
	}
	var resp *fbv1.GetCaseResponse
	err = f.call(ctx, func(ctx context.Context, client fbv1.EscalationServiceClient) (err error) {
		resp, err = client.GetCase(ctx, &fbv1.GetCaseRequest{Id: pos[0]})
		return err
	})
	if err != nil {
		return fmt.Errorf("get case %s from %s: %w", pos[0], f.addr, err)
	}
	if f.output == "json" {
		return printJSON(stdout, resp)
	}
	printCase(stdout, resp.Case, resp.Timeline)
	return nil
}

func printCase(w io.Writer, c *fbv1.Case, timeline []*fbv1.CaseEvent) {
	fmt.Fprintf(w, "Case %s  %s, %s priority, team %s, level %d\n", c.Id, caseStatus(c),
		word(c.Priority.String(), "PRIORITY_"), c.Team, c.Level)
	if c.Kind == fbv1.CaseKind_CASE_KIND_INCIDENT {
		printIncident(w, c)
	} else {
		fmt.Fprintf(w, "Brand %s on %s, author @%s (%s followers)\n", c.Brand, word(c.Platform.String(), "PLATFORM_"),
			c.Author.GetHandle(), wording.Thousands(c.Author.GetFollowers()))
	}
	if c.IncidentId != "" {
		fmt.Fprintf(w, "Joined incident %s (firebreak cases get %s)\n", c.IncidentId, c.IncidentId)
	}
	fmt.Fprintln(w, "Why:")
	for _, r := range c.Reasons {
		fmt.Fprintf(w, "  - %s\n", r.Text)
	}
	if n, kept := max(c.MentionsTotal, int64(len(c.MentionIds))), len(c.MentionIds); int64(kept) < n {
		fmt.Fprintf(w, "Mentions: %s (the case keeps the latest %d ids)\n", wording.Thousands(n), kept)
	} else if kept > 0 {
		fmt.Fprintf(w, "Mentions: %d\n", kept)
	}
	fmt.Fprintln(w, "Complaints (latest last):")
	for _, t := range c.Texts {
		fmt.Fprintf(w, "  %q\n", t)
	}
	printReplies(w, c)
	fmt.Fprintln(w, "Timeline:")
	for _, e := range timeline {
		line := fmt.Sprintf("  %s  %-13s level %d", e.At.AsTime().Local().Format(time.DateTime), word(e.Type.String(), "CASE_EVENT_TYPE_"), e.Level)
		if e.MentionId != "" {
			line += "  mention " + e.MentionId
		}
		if e.Actor != "" {
			line += "  by " + e.Actor
			if e.AuthMethod != "" {
				line += " (" + e.AuthMethod + ")"
			}
		}
		if e.Note != "" {
			line += ": " + e.Note
		}
		if len(e.Reasons) > 0 && e.Type != fbv1.CaseEventType_CASE_EVENT_TYPE_UPDATED {
			line += "  " + e.Reasons[0].Text
		}
		if e.Silenced != nil && len(e.Reasons) > 0 {
			// The silence's reason comes last; nobody was paged.
			line += "  [" + e.Reasons[len(e.Reasons)-1].Text + "; nobody paged]"
		}
		if e.Quiet {
			line += "  [joined incident " + e.Case.GetIncidentId() + " quietly; nobody paged]"
		}
		fmt.Fprintln(w, line)
	}
}

// printReplies shows the brand's replies with what the reply check found
// and whether each counted as an answer, and the first-response clock.
func printReplies(w io.Writer, c *fbv1.Case) {
	switch {
	case c.FirstResponseAt != nil:
		fmt.Fprintf(w, "First response: %s by reply %s\n", c.FirstResponseAt.AsTime().Local().Format(time.DateTime), c.AnsweredBy)
	case c.Breached:
		fmt.Fprintf(w, "First response: none; target missed at %s\n", c.RespondBy.AsTime().Local().Format(time.DateTime))
	case c.RespondBy != nil:
		fmt.Fprintf(w, "First response: none yet; due by %s\n", c.RespondBy.AsTime().Local().Format(time.DateTime))
	}
	if c.PrivateHandoffAt != nil {
		fmt.Fprintf(w, "Moved to private messages at %s; no private answer yet\n", c.PrivateHandoffAt.AsTime().Local().Format(time.DateTime))
	}
	if len(c.Replies) == 0 {
		return
	}
	fmt.Fprintf(w, "Brand replies (%d, latest last):\n", c.RepliesTotal)
	for _, r := range c.Replies {
		verdict := "answer"
		if !r.Answered {
			verdict = "NOT an answer"
		}
		fmt.Fprintf(w, "  %s  %s  %s  %q\n", r.At.AsTime().Local().Format(time.DateTime), word(r.Visibility.String(), "VISIBILITY_"), verdict, r.Text)
		for _, f := range r.Check.GetFindings() {
			if f.Severity < fbv1.Severity_SEVERITY_WARNING {
				continue
			}
			line := fmt.Sprintf("      %s (%s): %s", f.Code, word(f.Severity.String(), "SEVERITY_"), f.Message)
			if start, end := int(f.Start), int(f.End); start >= 0 && start < end && end <= len(r.Text) {
				line += fmt.Sprintf(" %q", r.Text[start:end])
			}
			fmt.Fprintln(w, line)
		}
		fmt.Fprintf(w, "      %s\n", r.Why)
	}
}

func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, UseProtoNames: true}.Marshal(m)
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func word(enum, prefix string) string { return strings.ToLower(strings.TrimPrefix(enum, prefix)) }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func runCasesAck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return changeCase(ctx, "cases ack", args, stdout, stderr, func(ctx context.Context, c fbv1.EscalationServiceClient, id, note string) (*fbv1.Case, error) {
		resp, err := c.AcknowledgeCase(ctx, &fbv1.AcknowledgeCaseRequest{Id: id, Note: note})
		return resp.GetCase(), err
	})
}

func runCasesResolve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return changeCase(ctx, "cases resolve", args, stdout, stderr, func(ctx context.Context, c fbv1.EscalationServiceClient, id, note string) (*fbv1.Case, error) {
		resp, err := c.ResolveCase(ctx, &fbv1.ResolveCaseRequest{Id: id, Note: note})
		return resp.GetCase(), err
	})
}

func runCasesAssign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var to string
	return changeCase(ctx, "cases assign", args, stdout, stderr, func(ctx context.Context, c fbv1.EscalationServiceClient, id, note string) (*fbv1.Case, error) {
		if to != "" && strings.TrimSpace(to) == "" {
			return nil, fmt.Errorf("%w: --to is blank; name the person, or leave it out to take the case yourself", errUsage)
		}
		resp, err := c.AssignCase(ctx, &fbv1.AssignCaseRequest{Id: id, Assignee: to, Note: note})
		return resp.GetCase(), err
	}, func(fs *flag.FlagSet) {
		fs.StringVar(&to, "to", "", "who takes the case (default: you, as your token names you)")
	})
}

func runCasesReopen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return changeCase(ctx, "cases reopen", args, stdout, stderr, func(ctx context.Context, c fbv1.EscalationServiceClient, id, note string) (*fbv1.Case, error) {
		resp, err := c.ReopenCase(ctx, &fbv1.ReopenCaseRequest{Id: id, Note: note})
		return resp.GetCase(), err
	})
}

func runCasesSnooze(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		length time.Duration
		off    bool
	)
	return changeCase(ctx, "cases snooze", args, stdout, stderr, func(ctx context.Context, c fbv1.EscalationServiceClient, id, note string) (*fbv1.Case, error) {
		if off {
			resp, err := c.UnsnoozeCase(ctx, &fbv1.UnsnoozeCaseRequest{Id: id, Note: note})
			return resp.GetCase(), err
		}
		if length <= 0 {
			return nil, fmt.Errorf("%w: say how long with --for, e.g. --for 1h (1m to 168h), or --off to resume the chain", errUsage)
		}
		resp, err := c.SnoozeCase(ctx, &fbv1.SnoozeCaseRequest{Id: id, Seconds: int64(length / time.Second), Note: note})
		return resp.GetCase(), err
	}, func(fs *flag.FlagSet) {
		fs.DurationVar(&length, "for", 0, "how long the chain pauses, e.g. 1h or 30m (at most 168h)")
		fs.BoolVar(&off, "off", false, "end the snooze now; the chain resumes")
	})
}

// caseChange acts on a case; the server records the caller's identity as
// who did it, so there is no name to type.
type caseChange func(ctx context.Context, c fbv1.EscalationServiceClient, id, note string) (*fbv1.Case, error)

// changeCase runs one change to a case; more declares the change's own flags.
func changeCase(ctx context.Context, name string, args []string, stdout, stderr io.Writer, change caseChange, more ...func(*flag.FlagSet)) error {
	var f escalationFlags
	fs := newFlagSet(name, stderr)
	f.register(fs)
	note := fs.String("note", "", "a note for the timeline")
	for _, m := range more {
		m(fs)
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: give one case id", errUsage)
	}
	var c *fbv1.Case
	err = f.call(ctx, func(ctx context.Context, client fbv1.EscalationServiceClient) (err error) {
		c, err = change(ctx, client, pos[0], *note)
		return err
	})
	if errors.Is(err, errUsage) {
		return err
	}
	if err != nil {
		return fmt.Errorf("case %s: %w", pos[0], err)
	}
	fmt.Fprintf(stdout, "case %s is now %s\n", c.Id, caseStatus(c))
	return nil
}

// caseStatus is a case's state with who has it and whether it sleeps:
// "open, assigned to ana, snoozed until 2026-11-30 17:04".
func caseStatus(c *fbv1.Case) string {
	s := word(c.State.String(), "CASE_STATE_")
	if c.Assignee != "" {
		s += ", assigned to " + c.Assignee
	}
	if c.SnoozedUntil != nil && c.SnoozedUntil.AsTime().After(time.Now()) {
		s += ", snoozed until " + c.SnoozedUntil.AsTime().Local().Format("2006-01-02 15:04")
	}
	return s
}

func runCasesWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f escalationFlags
	fs := newFlagSet("cases watch", stderr)
	f.register(fs)
	team := fs.String("team", "", "only cases of this team")
	brand := fs.String("brand", "", "only cases about this brand")
	if err := fs.Parse(args); err != nil {
		return err
	}
	client, conn, err := f.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	stream, err := client.WatchCases(ctx, &fbv1.WatchCasesRequest{Team: *team, Brand: *brand})
	if err != nil {
		return fmt.Errorf("watch cases on %s: %w", f.addr, err)
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watch cases: %w", err)
		}
		e := resp.Event
		if f.output == "json" {
			if err := printJSON(stdout, e); err != nil {
				return err
			}
			continue
		}
		reason := ""
		if len(e.Reasons) > 0 {
			reason = e.Reasons[0].Text
		}
		fmt.Fprintf(stdout, "%s  %-12s %s  %s/%s level %d  @%s  %s\n", e.At.AsTime().Local().Format(time.TimeOnly),
			word(e.Type.String(), "CASE_EVENT_TYPE_"), e.Case.GetId(), e.Case.GetTeam(), word(e.Case.GetPriority().String(), "PRIORITY_"),
			e.Level, e.Case.GetAuthor().GetHandle(), reason)
	}
}

func runExplain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f escalationFlags
	fs := newFlagSet("explain", stderr)
	f.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: give one mention id, e.g. firebreak explain x:1001", errUsage)
	}
	var resp *fbv1.ExplainDecisionResponse
	err = f.call(ctx, func(ctx context.Context, client fbv1.EscalationServiceClient) (err error) {
		resp, err = client.ExplainDecision(ctx, &fbv1.ExplainDecisionRequest{MentionId: pos[0]})
		return err
	})
	if err != nil {
		return fmt.Errorf("explain %s: %w", pos[0], err)
	}
	if f.output == "json" {
		return printJSON(stdout, resp)
	}
	d := resp.Decision
	verdict := "opened nothing"
	if d.Escalate {
		verdict = fmt.Sprintf("escalated to %s at %s priority (case %s)", d.Team, word(d.Priority.String(), "PRIORITY_"), d.CaseId)
	}
	fmt.Fprintf(stdout, "Mention %s %s, by route %q of policy %s\n", d.MentionId, verdict, d.Route, d.PolicyVersion)
	for _, r := range d.Reasons {
		fmt.Fprintf(stdout, "  - %s\n", r.Text)
	}
	fmt.Fprintf(stdout, "History: %d complaints in the window, %d unanswered in a row\n",
		d.History.GetComplaintsInWindow(), d.History.GetUnansweredStreak())
	if len(d.Missing) > 0 {
		fmt.Fprintf(stdout, "Decided without: %s\n", strings.Join(d.Missing, ", "))
	}
	if s := d.Surge; s.GetActive() {
		paged := "its case pages as the route says"
		if d.Quiet {
			paged = "it joined quietly: nobody paged"
		}
		fmt.Fprintf(stdout, "During incident %s (%d authors in the window): %s\n", s.IncidentId, s.Authors, paged)
	}
	if d.Shadow != nil {
		fmt.Fprintf(stdout, "Shadow policy %s would have: escalate=%v team=%q priority=%s\n", d.Shadow.PolicyVersion,
			d.Shadow.Escalate, d.Shadow.Team, word(d.Shadow.Priority.String(), "PRIORITY_"))
	}
	return nil
}

// printIncident shows what an incident gathers.
func printIncident(w io.Writer, c *fbv1.Case) {
	in := c.Incident
	what := "Incident of brand " + c.Brand
	switch {
	case in.GetTopic() != "":
		what += ", topic " + in.Topic
	case in.GetPostId() != "":
		what += ", a pile-on on post " + in.PostId
	}
	fmt.Fprintf(w, "%s: %s distinct authors (%s followers together), %s member cases, peak %s in a window, severity %s\n", what,
		wording.Thousands(in.GetAuthors()), wording.Thousands(in.GetReach()), wording.Thousands(in.GetMembersTotal()),
		wording.Thousands(in.GetPeak()), word(in.GetSeverity().String(), "PRIORITY_"))
	if in.GetFirstMentionId() != "" {
		fmt.Fprintf(w, "First mention %s at %s, latest %s at %s\n", in.FirstMentionId, in.FirstMentionAt.AsTime().Local().Format(time.DateTime),
			in.LatestMentionId, in.LatestMentionAt.AsTime().Local().Format(time.DateTime))
	}
	if len(in.GetMemberCaseIds()) > 0 {
		const shown = 20
		ids := in.MemberCaseIds[:min(shown, len(in.MemberCaseIds))]
		more := ""
		if n := in.MembersTotal - int64(len(ids)); n > 0 {
			more = fmt.Sprintf(" and %s more (-o json lists up to 500)", wording.Thousands(n))
		}
		fmt.Fprintf(w, "Members: %s%s\n", strings.Join(ids, ", "), more)
	}
}
