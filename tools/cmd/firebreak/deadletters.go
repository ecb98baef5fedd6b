package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// deadLetterServices keep dead letters, each of its own, with their
// default gRPC addresses.
var deadLetterServices = []struct{ name, addr string }{
	{"scorer", "127.0.0.1:9091"}, {"reach", "127.0.0.1:9092"}, {"escalation", "127.0.0.1:9093"}, {"notifier", "127.0.0.1:9094"},
}

type deadLetterFlags struct {
	conn    connFlags
	addrs   map[string]*string
	timeout time.Duration
	output  string
}

func (f *deadLetterFlags) register(fs *flag.FlagSet) {
	f.addrs = map[string]*string{}
	for _, s := range deadLetterServices {
		env := "FIREBREAK_" + strings.ToUpper(s.name) + "_ADDR"
		f.addrs[s.name] = fs.String(s.name, envOr(env, s.addr), s.name+" gRPC address (env "+env+")")
	}
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to wait for each answer")
	fs.StringVar(&f.output, "o", "table", "output: table or json")
	f.conn.register(fs)
}

// call dials service and makes one call, bounded by --timeout.
func (f *deadLetterFlags) call(ctx context.Context, service string, do func(context.Context, fbv1.DeadLetterServiceClient) error) error {
	addr, ok := f.addrs[service]
	if !ok {
		return fmt.Errorf("%w: %q keeps no dead letters; use scorer, reach, escalation or notifier", errUsage, service)
	}
	err := f.conn.call(ctx, *addr, f.timeout, func(ctx context.Context, conn *grpc.ClientConn) error {
		return do(ctx, fbv1.NewDeadLetterServiceClient(conn))
	})
	if err != nil {
		return fmt.Errorf("%s at %s: %w", service, *addr, err)
	}
	return nil
}

func runDeadLettersList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f deadLetterFlags
	fs := newFlagSet("deadletters list", stderr)
	f.register(fs)
	only := fs.String("service", "", "only this service's dead letters")
	limit := fs.Int("limit", 100, "at most this many per service, oldest first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, ok := f.addrs[*only]; *only != "" && !ok {
		return fmt.Errorf("%w: --service %q keeps no dead letters; use scorer, reach, escalation or notifier", errUsage, *only)
	}
	if *limit < 1 || *limit > 500 {
		return fmt.Errorf("%w: --limit %d: use 1 to 500", errUsage, *limit)
	}
	var all []*fbv1.DeadLetter
	for _, s := range deadLetterServices {
		if *only != "" && *only != s.name {
			continue
		}
		err := f.call(ctx, s.name, func(ctx context.Context, c fbv1.DeadLetterServiceClient) error {
			resp, err := c.ListDeadLetters(ctx, &fbv1.ListDeadLettersRequest{PageSize: int32(*limit)})
			if err == nil {
				all = append(all, resp.DeadLetters...)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("list dead letters: %w", err)
		}
	}
	if f.output == "json" {
		return printJSON(stdout, &fbv1.ListDeadLettersResponse{DeadLetters: all})
	}
	printDeadLetters(stdout, all, time.Now())
	return nil
}

func printDeadLetters(w io.Writer, all []*fbv1.DeadLetter, now time.Time) {
	if len(all) == 0 {
		fmt.Fprintln(w, "No dead letters.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSEQ\tAGE\tEVENT\tMENTION/CASE\tTRIES\tREASON")
	for _, d := range all {
		about := d.MentionId
		if about == "" {
			about = d.CaseId
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%s\n", d.Service, d.Sequence, now.Sub(d.At.AsTime()).Round(time.Second), d.EventType, about, d.Deliveries, oneLine(d.Reason, 100))
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "Read one with `firebreak deadletters show SERVICE SEQ`; once its cause is fixed, `firebreak deadletters replay SERVICE SEQ...`.")
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

// deadLetterArgs parses SERVICE SEQ...
func deadLetterArgs(pos []string, many bool) (string, []uint64, error) {
	if len(pos) < 2 || (!many && len(pos) != 2) {
		return "", nil, fmt.Errorf("%w: give the service and the dead letter's sequence, as `firebreak deadletters list` shows them", errUsage)
	}
	var seqs []uint64
	for _, p := range pos[1:] {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil || n == 0 {
			return "", nil, fmt.Errorf("%w: %q is not a dead letter's sequence (a positive number)", errUsage, p)
		}
		seqs = append(seqs, n)
	}
	return pos[0], seqs, nil
}

func runDeadLettersShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f deadLetterFlags
	fs := newFlagSet("deadletters show", stderr)
	f.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	service, seqs, err := deadLetterArgs(pos, false)
	if err != nil {
		return err
	}
	var d *fbv1.DeadLetter
	err = f.call(ctx, service, func(ctx context.Context, c fbv1.DeadLetterServiceClient) error {
		resp, err := c.GetDeadLetter(ctx, &fbv1.GetDeadLetterRequest{Sequence: seqs[0]})
		if err == nil {
			d = resp.DeadLetter
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("show dead letter: %w", err)
	}
	if f.output == "json" {
		return printJSON(stdout, d)
	}
	fmt.Fprintf(stdout, "%s dead letter %d, %s\nfirst published on %s after %d tries\nreason: %s\nheaders:\n", d.Service, d.Sequence, stamp(d.At), d.Subject, d.Deliveries, d.Reason)
	keys := make([]string, 0, len(d.Headers))
	for k := range d.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "  %s: %s\n", k, d.Headers[k])
	}
	fmt.Fprintf(stdout, "message (%d bytes):\n%s\n", len(d.Data), payload(d))
	return nil
}

// payload renders a dead letter's message as JSON when its type is known.
func payload(d *fbv1.DeadLetter) string {
	var m proto.Message
	switch {
	case d.EventType == bus.TypeMentionIngested:
		m = &fbv1.Mention{}
	case d.EventType == bus.TypeMentionScored:
		m = &fbv1.ScoredMention{}
	case d.EventType == bus.TypeMentionReached:
		m = &fbv1.ReachedMention{}
	case d.EventType == bus.TypeCaseCommand:
		m = &fbv1.CaseCommand{}
	case strings.HasPrefix(d.EventType, "case."):
		m = &fbv1.CaseEvent{}
	}
	if m != nil && proto.Unmarshal(d.Data, m) == nil {
		if b, err := (protojson.MarshalOptions{Multiline: true}).Marshal(m); err == nil {
			return string(b)
		}
	}
	return fmt.Sprintf("(not a message this tool reads: %q)", oneLine(string(d.Data), 200))
}

func runDeadLettersReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f deadLetterFlags
	fs := newFlagSet("deadletters replay", stderr)
	f.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	service, seqs, err := deadLetterArgs(pos, true)
	if err != nil {
		return err
	}
	failed := 0
	for _, seq := range seqs {
		err := f.call(ctx, service, func(ctx context.Context, c fbv1.DeadLetterServiceClient) error {
			_, err := c.ReplayDeadLetter(ctx, &fbv1.ReplayDeadLetterRequest{Sequence: seq})
			return err
		})
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "%d: not replayed: %v\n", seq, err)
			continue
		}
		fmt.Fprintf(stdout, "%d: replayed and deleted\n", seq)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d dead letters were not replayed; they stay", failed, len(seqs))
	}
	return nil
}
