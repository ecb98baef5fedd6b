package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// redriveServices serve RedriveService, in the order a redrive asks them:
// the notifier first, so the delivery marks Redis lost are back before
// escalation publishes any case event again.
var redriveServices = []struct{ name, addr string }{
	{"notifier", "127.0.0.1:9094"}, {"escalation", "127.0.0.1:9093"},
}

func runRedrive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var conn connFlags
	fs := newFlagSet("redrive", stderr)
	since := fs.String("since", "", "start of the window, RFC 3339: a few seconds before Redis lost its writes (required)")
	until := fs.String("until", "", "end of the window, RFC 3339 (default now)")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long each service may take")
	output := fs.String("o", "table", "output: table or json")
	addrs := map[string]*string{}
	for _, s := range redriveServices {
		env := "FIREBREAK_" + strings.ToUpper(s.name) + "_ADDR"
		addrs[s.name] = fs.String(s.name, envOr(env, s.addr), s.name+" gRPC address (env "+env+")")
	}
	conn.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	req, err := redriveRequest(*since, *until)
	if err != nil {
		return err
	}
	var all []*fbv1.RedriveResponse
	for _, s := range redriveServices {
		err := conn.call(ctx, *addrs[s.name], *timeout, func(ctx context.Context, c *grpc.ClientConn) error {
			resp, err := fbv1.NewRedriveServiceClient(c).Redrive(ctx, req)
			if err == nil {
				all = append(all, resp)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("redrive %s at %s: %w", s.name, *addrs[s.name], err)
		}
	}
	if *output == "json" {
		for _, resp := range all {
			b, err := protojson.Marshal(resp)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, string(b))
		}
	} else {
		printRedrive(stdout, all)
	}
	failed := int64(0)
	for _, resp := range all {
		for _, s := range resp.Streams {
			failed += s.Failed
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d messages failed again (listed above); fix their cause and run the same redrive again: what was done is found done", failed)
	}
	return nil
}

// redriveRequest reads the window's flags.
func redriveRequest(since, until string) (*fbv1.RedriveRequest, error) {
	if since == "" {
		return nil, fmt.Errorf("%w: --since is required: the time, RFC 3339, a few seconds before Redis lost its writes (its restart time in its log, minus 5s)", errUsage)
	}
	from, err := time.Parse(time.RFC3339, since)
	if err != nil {
		return nil, fmt.Errorf("%w: --since %q is not an RFC 3339 time such as 2026-12-01T00:10:00Z", errUsage, since)
	}
	req := &fbv1.RedriveRequest{Since: timestamppb.New(from)}
	if until != "" {
		to, err := time.Parse(time.RFC3339, until)
		if err != nil {
			return nil, fmt.Errorf("%w: --until %q is not an RFC 3339 time such as 2026-12-01T00:10:30Z", errUsage, until)
		}
		req.Until = timestamppb.New(to)
	}
	return req, nil
}

// redriveOutcomes are the outcomes a redrive reports, in words.
var redriveOutcomes = []struct{ key, words string }{
	{"delivery_marks_restored", "delivery marks restored (pages made, not to be sent again)"},
	{"decided_again", "mentions decided again (their decision was lost)"},
	{"already_decided", "mentions already decided (nothing done)"},
	{"waiting", "mentions waiting for their other part (decided at the join timeout; widen --since to include it)"},
	{"actions_redone", "acknowledgements and resolutions made again in their actor's name"},
}

func printRedrive(w io.Writer, all []*fbv1.RedriveResponse) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSTREAM\tSEQUENCES\tOFFERED\tFAILED")
	for _, resp := range all {
		for _, s := range resp.Streams {
			seqs := "-"
			if s.Offered > 0 {
				seqs = fmt.Sprintf("%d-%d", s.FirstSequence, s.LastSequence)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", resp.Service, s.Stream, seqs, s.Offered, s.Failed)
		}
	}
	_ = tw.Flush()
	for _, resp := range all {
		for _, o := range redriveOutcomes {
			if n, ok := resp.Outcomes[o.key]; ok && n > 0 {
				fmt.Fprintf(w, "%s: %d %s\n", resp.Service, n, o.words)
			}
		}
		for _, s := range resp.Streams {
			for _, e := range s.Errors {
				fmt.Fprintf(w, "%s: %s failed: %s\n", resp.Service, s.Stream, e)
			}
		}
	}
}
