package main

import (
	"context"
	"encoding/json"
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
	"github.com/firebreak/firebreak/services/platform/rpc"
)

// escalationFlags are the flags of every command that talks to escalation.
type escalationFlags struct {
	addr    string
	timeout time.Duration
	output  string
}

func (f *escalationFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "escalation", envOr("FIREBREAK_ESCALATION_ADDR", "127.0.0.1:9093"), "escalation gRPC address (env FIREBREAK_ESCALATION_ADDR)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to wait for an answer")
	fs.StringVar(&f.output, "o", "table", "output: table or json")
}

func (f *escalationFlags) dial() (fbv1.EscalationServiceClient, *grpc.ClientConn, error) {
	conn, err := rpc.Dial(f.addr)
	if err != nil {
		return nil, nil, err
	}
	return fbv1.NewEscalationServiceClient(conn), conn, nil
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
	limit := fs.Int("limit", 50, "most cases to show")
	if err := fs.Parse(args); err != nil {
		return err
	}
	req := &fbv1.ListCasesRequest{Team: *team, Brand: *brand, PageSize: int32(*limit)}
	if *state != "" {
		v, ok := fbv1.CaseState_value["CASE_STATE_"+strings.ToUpper(*state)]
		if !ok {
			return fmt.Errorf("%w: --state %q: use open, acknowledged or resolved", errUsage, *state)
		}
		req.State = fbv1.CaseState(v)
	}
	if *priority != "" {
		v, ok := fbv1.Priority_value["PRIORITY_"+strings.ToUpper(*priority)]
		if !ok {
			return fmt.Errorf("%w: --priority %q: use low, normal, high or critical", errUsage, *priority)
		}
		req.Priority = fbv1.Priority(v)
	}
	client, conn, err := f.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	resp, err := client.ListCases(ctx, req)
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t@%s\t%d\t%s\t%s\n", c.Id, word(c.State.String(), "CASE_STATE_"),
			word(c.Priority.String(), "PRIORITY_"), c.Team, c.Brand, c.Author.GetHandle(), len(c.MentionIds),
			c.UpdatedAt.AsTime().Local().Format(time.DateTime), reason)
	}
	return tw.Flush()
}

func runCasesGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f escalationFlags
	fs := newFlagSet("cases get", stderr)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: give one case id, e.g. firebreak cases get 3fa9c2e1b04d5a6e-1", errUsage)
	}
	client, conn, err := f.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	resp, err := client.GetCase(ctx, &fbv1.GetCaseRequest{Id: fs.Arg(0)})
	if err != nil {
		return fmt.Errorf("get case %s from %s: %w", fs.Arg(0), f.addr, err)
	}
	if f.output == "json" {
		return printJSON(stdout, resp)
	}
	printCase(stdout, resp.Case, resp.Timeline)
	return nil
}

func printCase(w io.Writer, c *fbv1.Case, timeline []*fbv1.CaseEvent) {
	fmt.Fprintf(w, "Case %s  %s, %s priority, team %s, level %d\n", c.Id, word(c.State.String(), "CASE_STATE_"),
		word(c.Priority.String(), "PRIORITY_"), c.Team, c.Level)
	fmt.Fprintf(w, "Brand %s on %s, author @%s (%s followers)\n", c.Brand, word(c.Platform.String(), "PLATFORM_"),
		c.Author.GetHandle(), thousands(c.Author.GetFollowers()))
	fmt.Fprintln(w, "Why:")
	for _, r := range c.Reasons {
		fmt.Fprintf(w, "  - %s\n", r.Text)
	}
	fmt.Fprintln(w, "Complaints (latest last):")
	for _, t := range c.Texts {
		fmt.Fprintf(w, "  %q\n", t)
	}
	fmt.Fprintln(w, "Timeline:")
	for _, e := range timeline {
		line := fmt.Sprintf("  %s  %-13s level %d", e.At.AsTime().Local().Format(time.DateTime), word(e.Type.String(), "CASE_EVENT_TYPE_"), e.Level)
		if e.MentionId != "" {
			line += "  mention " + e.MentionId
		}
		if e.Actor != "" {
			line += "  by " + e.Actor
		}
		if e.Note != "" {
			line += ": " + e.Note
		}
		fmt.Fprintln(w, line)
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

func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
