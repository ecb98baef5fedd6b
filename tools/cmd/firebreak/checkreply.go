package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/firebreak/firebreak/services/scorer/score"
)

// checkedRow is one line of `firebreak check-reply --in` output.
type checkedRow struct {
	ID       string         `json:"id"`
	OK       bool           `json:"ok"`
	Findings []findingField `json:"findings"`
	// NoWayForward: nothing to do or expect; the default policy does not
	// count such a reply as an answer to a complaint.
	NoWayForward bool `json:"no_way_forward"`
}

type findingField struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Reason   string `json:"reason"`
	Start    int    `json:"start"`
	End      int    `json:"end"`
}

// errFlagged is the single-draft form's answer for a draft that should not
// be sent: exit status 1, after the findings are printed.
var errFlagged = errors.New("the draft has problems; see the findings above")

func runCheckReply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return checkReply(ctx, args, os.Stdin, stdout, stderr)
}

func checkReply(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-reply", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "CSV or NDJSON file of replies to check; without it, one draft is read from standard input")
	out := fs.String("out", "-", "with --in, the output NDJSON file, - for standard output")
	idColumn := fs.String("id-column", "id", "with --in, the column or field holding the row id")
	textColumn := fs.String("text-column", "text", "with --in, the column or field holding the reply")
	contextColumn := fs.String("context-column", "", "with --in, a column holding the customer's message being answered (optional)")
	mention := fs.String("mention", "", "the customer's message being answered, as context for a single draft (optional)")
	public := fs.Bool("public", true, "the reply is posted publicly, so personal data in it is a problem")
	privateThread := fs.Bool("private-thread", false, "the conversation so far was private")
	var sf scorerFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	scorer, err := sf.build()
	if err != nil {
		return err
	}
	base := score.ReplyContext{PublicReply: *public, PrivateThread: *privateThread}
	if *in == "" {
		draft, err := io.ReadAll(io.LimitReader(stdin, 4*score.MaxDraftChars+1))
		if err != nil {
			return fmt.Errorf("read the draft from standard input: %w", err)
		}
		base.MentionText = *mention
		return checkOne(scorer, strings.TrimRight(string(draft), "\r\n"), base, stdout)
	}
	return checkFile(ctx, scorer, *in, *out, []string{*idColumn, *textColumn, *contextColumn}, base, stdout, stderr)
}

// withContext fills in what the customer's message tells the check.
func withContext(scorer *score.Scorer, rc score.ReplyContext, mention string) score.ReplyContext {
	rc.MentionText = mention
	rc.Complaint = mention != "" && scorer.Score(mention).Complaint >= 0.5
	return rc
}

func checkOne(scorer *score.Scorer, draft string, rc score.ReplyContext, stdout io.Writer) error {
	if draft == "" {
		return fmt.Errorf("%w: no draft on standard input; pipe the reply in, e.g. echo 'Sorry! DM us.' | firebreak check-reply", errUsage)
	}
	if n := utf8.RuneCountInString(draft); n > score.MaxDraftChars {
		return fmt.Errorf("%w: the draft is over %d characters; shorten it or split it into replies", errUsage, score.MaxDraftChars)
	}
	c := scorer.CheckReply(draft, withContext(scorer, rc, rc.MentionText))
	if !c.Flagged() {
		fmt.Fprintln(stdout, "ok: no problems found")
	} else {
		fmt.Fprintln(stdout, "not ok: do not send this reply as it is")
	}
	for _, f := range c.Findings {
		fmt.Fprintf(stdout, "  %-8s %-26s %q: %s\n", f.Severity, f.Code, excerpt(draft, f.Start, f.End), f.Message)
	}
	if c.NoWayForward && !c.Flagged() {
		fmt.Fprintln(stdout, "  note: it offers no way forward (no action, question, link or contact), so the default policy does not count it as an answer to a complaint")
	}
	if c.Flagged() {
		return errFlagged
	}
	return nil
}

// excerpt is a finding's span, shortened when it is the whole draft.
func excerpt(draft string, start, end int) string {
	const most = 60
	s := draft[start:end]
	if len(s) <= most {
		return s
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func checkFile(ctx context.Context, scorer *score.Scorer, in, out string, columns []string, base score.ReplyContext, stdout, stderr io.Writer) error {
	withMention := columns[2] != ""
	if !withMention {
		columns = columns[:2]
	}
	w, closeOut, err := openOutput(out, stdout)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	n, flagged := 0, 0
	err = readRows(in, columns, func(fields []string) error {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		n++
		rc := base
		if withMention {
			rc = withContext(scorer, base, fields[2])
		}
		c := scorer.CheckReply(fields[1], rc)
		row := checkedRow{ID: fields[0], OK: !c.Flagged(), Findings: make([]findingField, len(c.Findings)), NoWayForward: c.NoWayForward}
		for i, f := range c.Findings {
			row.Findings[i] = findingField{Kind: f.Code, Severity: f.Severity.String(), Reason: f.Message, Start: f.Start, End: f.End}
		}
		if !row.OK {
			flagged++
		}
		return enc.Encode(row)
	})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("check-reply %s: %w", in, err)
	}
	fmt.Fprintf(stderr, "checked %d replies: %d flagged\n", n, flagged)
	return nil
}
