// Command firebreak is the operator's tool: it reads and changes cases over
// the escalation API, scores labelled files, evaluates the scorer and
// backtests policies, all with the same decision code the services run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. run gets the arguments after the command's name
// (for "cases list", the arguments after "list").
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists every subcommand; each lives in a file named after it.
func commands() []command {
	return []command{
		{"cases list", "list cases (filters: --state, --team, --priority, --brand, --assignee)", runCasesList},
		{"cases get", "show one case with its timeline: cases get ID", runCasesGet},
		{"cases ack", "acknowledge a case: cases ack ID [--note TEXT] (as whoever FIREBREAK_TOKEN is)", runCasesAck},
		{"cases resolve", "resolve a case: cases resolve ID [--note TEXT]", runCasesResolve},
		{"cases assign", "assign a case: cases assign ID [--to NAME] (to yourself without --to)", runCasesAssign},
		{"cases reopen", "reopen a resolved case; its chain starts over: cases reopen ID [--note TEXT]", runCasesReopen},
		{"cases snooze", "pause a case's chain: cases snooze ID --for 1h (1m to 168h); --off resumes it", runCasesSnooze},
		{"cases watch", "stream case events as they happen", runCasesWatch},
		{"silences add", "mute pages: silences add MATCHER... --comment TEXT [--duration D | --end T] [--weekdays --times --location] [--force]", runSilencesAdd},
		{"silences list", "list silences (--expired, --audit N)", runSilencesList},
		{"silences expire", "end silences now: silences expire ID...", runSilencesExpire},
		{"deadletters list", "list the messages services gave up on, with why (--service S, --limit N)", runDeadLettersList},
		{"deadletters show", "show one dead letter with its message: deadletters show SERVICE SEQ", runDeadLettersShow},
		{"deadletters replay", "hand dead letters back to their service once the cause is fixed: deadletters replay SERVICE SEQ...", runDeadLettersReplay},
		{"redrive", "after Redis lost its last writes: offer a window's mentions and case events again: redrive --since T [--until T]", runRedrive},
		{"explain", "why a mention was (or was not) escalated: explain MENTION-ID", runExplain},
		{"score", "score the texts of a CSV or NDJSON file into NDJSON", runScore},
		{"check-reply", "check a draft reply from standard input, or a file's replies (--in) into NDJSON", runCheckReply},
		{"eval-replies", "measure the reply check on labelled replies, the twcs brand replies and Stanford Politeness", runEvalReplies},
		{"eval", "measure the scorer against a labelled file (--train: cross-validate)", runEval},
		{"train", "train the scorer's model on a labelled file", runTrain},
		{"backtest", "replay mentions through a policy (--against: compare two policies)", runBacktest},
		{"policy check", "check a policy: every error with route and line, then dead routes and other warnings", runPolicyCheck},
		{"policy test", "what a policy does with a mention: policy test FILE (--mention JSON | --cases FILE)", runPolicyTest},
		{"token new", "make an API key and its keys-file line: token new --name NAME --roles ROLE[,ROLE] [--brands B]", runTokenNew},
		{"replay", "post a file's mentions to ingest: replay --in FILE [--format ndjson|twcs|airline] [--rate N]", runReplay},
	}
}

// errUsage marks an error that the user fixes by changing the command line.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd, rest, ok := find(commands(), args)
	if !ok {
		usage(stderr)
		if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			return 0
		}
		return 2
	}
	if err := cmd.run(ctx, rest, stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "firebreak %s: %v\n", cmd.name, err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// find picks the command whose name matches the longest prefix of args.
func find(cmds []command, args []string) (command, []string, bool) {
	best, bestLen := command{}, 0
	for _, c := range cmds {
		words := strings.Fields(c.name)
		if len(words) <= len(args) && len(words) > bestLen && equal(words, args[:len(words)]) {
			best, bestLen = c, len(words)
		}
	}
	return best, args[min(bestLen, len(args)):], bestLen > 0
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func usage(w io.Writer) {
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	fmt.Fprintln(w, "usage: firebreak COMMAND [flags]\n\ncommands:")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
}

// parseArgs parses flags wherever they stand among the positional
// arguments ("cases get ID --escalation ADDR"), which flag.Parse alone does
// not, and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
