package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/policyfile"
	"github.com/firebreak/firebreak/services/escalation/silence"
	"github.com/firebreak/firebreak/services/platform/replay"
	"github.com/firebreak/firebreak/services/reach/tier"
	scorersvc "github.com/firebreak/firebreak/services/scorer"
	"github.com/firebreak/firebreak/services/scorer/score"
)

// scorer is what the backtest needs of the scorer: a mention's score as the
// live flow makes it, with the reply check on brand replies.
type scorer interface {
	ScoreMention(m *fbv1.Mention) *fbv1.Score
}

// liveScorer scores as the scorer service does.
type liveScorer struct{ s *score.Scorer }

func (l liveScorer) ScoreMention(m *fbv1.Mention) *fbv1.Score { return scorersvc.ScoreMention(l.s, m) }

// backtestOptions are the command line of `firebreak backtest`.
type backtestOptions struct {
	policyPath, againstPath, inPath, format string
	silencesPath                            string
	brandFollowers                          string
	json                                    bool
	limit                                   int
	scorer                                  scorerFlags
}

func runBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o backtestOptions
	fs.StringVar(&o.policyPath, "policy", "", `policy YAML to replay, or `+strconv.Quote(policyfile.Default)+` for the shipped one (required)`)
	fs.StringVar(&o.againstPath, "against", "", `second policy to compare with (a file or `+strconv.Quote(policyfile.Default)+`)`)
	fs.StringVar(&o.inPath, "in", "", "mentions to replay: NDJSON as POST /v1/mentions takes it (or protobuf JSON of firebreak.v1.Mention), or the twcs CSV layout (required)")
	fs.StringVar(&o.format, "format", "", "input format, csv or ndjson (default: from the file extension)")
	fs.StringVar(&o.brandFollowers, "brand-followers", "", "brands' own follower counts for reach tiers, e.g. acme=203000,globex=5000")
	fs.StringVar(&o.silencesPath, "silences", "", "silences to replay, as `firebreak silences list -o json` prints them: their decisions page nobody")
	fs.BoolVar(&o.json, "json", false, "write the full report as JSON to standard output")
	fs.IntVar(&o.limit, "limit", 30, "cases (or differences) to list in the text report; 0 lists all")
	o.scorer.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if o.policyPath == "" || o.inPath == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: backtest --policy FILE [--against FILE] --in DATA [--json]", errUsage)
	}
	return backtest(ctx, o, stdout, stderr)
}

// backtestReport is the JSON output; Against and Differences only with
// --against.
type backtestReport struct {
	Input       inputSummary     `json:"input"`
	Elapsed     string           `json:"elapsed"`
	Policy      policyReport     `json:"policy"`
	Against     *policyReport    `json:"against,omitempty"`
	Differences []differenceJSON `json:"differences,omitempty"`
}

type inputSummary struct {
	File         string `json:"file"`
	Rows         int    `json:"rows"`
	Mentions     int    `json:"mentions"`
	BrandReplies int    `json:"brand_replies"`
	Skipped      int    `json:"skipped"`
	WithReach    int    `json:"with_reach"`
}

type policyReport struct {
	File      string           `json:"file"`
	Version   string           `json:"version"`
	Summary   summary          `json:"summary"`
	Cases     []*caseRecord    `json:"cases"`
	Decisions []decisionRecord `json:"decisions"`
	// Silenced are the decisions a silence muted; Viral those escalated
	// because the post spread (a reason of code spread).
	Silenced []silencedRecord `json:"silenced"`
	Viral    []decisionRecord `json:"viral"`
	// Incidents are the surges that opened an incident.
	Incidents []*incidentRecord `json:"incidents"`
}

func backtest(ctx context.Context, o backtestOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	base, err := loadPolicy(o.policyPath)
	if err != nil {
		return err
	}
	var against *policy.Policy
	if o.againstPath != "" {
		if against, err = loadPolicy(o.againstPath); err != nil {
			return err
		}
	}
	brands, err := tier.ParseBrandFollowers(o.brandFollowers)
	if err != nil {
		return fmt.Errorf("%w: --brand-followers: %v", errUsage, err)
	}
	mentions, input, err := readMentions(o.inPath, o.format)
	if err != nil {
		return err
	}
	built, err := o.scorer.build()
	if err != nil {
		return err
	}
	bar := newProgress(stderr, len(mentions)*(2+boolInt(against != nil)))
	in, err := prepare(ctx, mentions, liveScorer{built}, brands, bar)
	if err != nil {
		return err
	}
	input.WithReach = countReach(in)
	if in.silences, err = loadSilences(o.silencesPath); err != nil {
		return err
	}
	report := backtestReport{Input: input}
	baseSim := simulate(base, in, bar.offset(len(mentions)))
	report.Policy = newPolicyReport(o.policyPath, base, baseSim)
	if against != nil {
		againstSim := simulate(against, in, bar.offset(2*len(mentions)))
		r := newPolicyReport(o.againstPath, against, againstSim)
		report.Against = &r
		report.Differences = differences(baseSim, againstSim)
	}
	bar.done()
	report.Elapsed = time.Since(start).Round(time.Millisecond).String()
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	return writeText(stdout, report, o.limit)
}

func loadPolicy(path string) (*policy.Policy, error) {
	// The same reader as the service: the policy with the lists it names.
	p, err := policyfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func readMentions(path, format string) ([]*fbv1.Mention, inputSummary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, inputSummary{}, fmt.Errorf("open input: %w", err)
	}
	defer f.Close()
	if format == "" {
		format = "ndjson"
		if strings.EqualFold(filepath.Ext(path), ".csv") {
			format = "csv"
		}
	}
	sum := inputSummary{File: path}
	var ms []*fbv1.Mention
	switch format {
	case "csv":
		var st replay.Stats
		ms, st, err = replay.ReadTwitterCSV(f)
		sum.Rows, sum.Mentions, sum.BrandReplies, sum.Skipped = st.Rows, st.Mentions, st.BrandReplies, st.Skipped
	case "ndjson":
		ms, err = readMentionLines(f)
		replay.SortByTime(ms) // event time, as the service would have seen them
		sum.Rows = len(ms)
		for _, m := range ms {
			if m.GetBrandReply() {
				sum.BrandReplies++
			} else {
				sum.Mentions++
			}
		}
	default:
		return nil, sum, fmt.Errorf("%w: --format %q: want csv or ndjson", errUsage, format)
	}
	if err != nil {
		return nil, sum, fmt.Errorf("%s: %w", path, err)
	}
	return ms, sum, nil
}

// loadSilences reads silences as `firebreak silences list -o json` prints
// them (a ListSilencesResponse), each checked as the service checks it.
func loadSilences(path string) ([]*silence.Silence, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--silences: %w", err)
	}
	var list fbv1.ListSilencesResponse
	if err := protojson.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("--silences %s: not the JSON of `firebreak silences list -o json`: %w", path, err)
	}
	out := make([]*silence.Silence, 0, len(list.Silences))
	for _, s := range list.Silences {
		c, err := silence.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("--silences %s: silence %s: %w", path, s.Id, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// prepare scores every mention once (checking brand replies) and works out its reach from
// the follower count it carries, so every policy in the run sees the same
// inputs.
func prepare(ctx context.Context, ms []*fbv1.Mention, sc scorer, brands map[string]int64, bar *progress) (*replayInput, error) {
	in := &replayInput{mentions: ms, scores: make([]*fbv1.Score, len(ms)), reaches: make([]*fbv1.Reach, len(ms))}
	step := bar.offset(0)
	for i, m := range ms {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			step(i)
		}
		in.scores[i] = sc.ScoreMention(m)
		if !m.GetBrandReply() {
			in.reaches[i] = reachOf(m, brands[m.GetBrand()])
		}
	}
	return in, nil
}

// reachOf places the author in a tier the way the reach service does, from
// the follower count in the mention; nil when the mention carries none, so
// the decision says reach was unknown.
func reachOf(m *fbv1.Mention, brandFollowers int64) *fbv1.Reach {
	a := m.GetAuthor()
	if a.GetFollowers() <= 0 {
		return nil
	}
	as := tier.Assess(tier.Author{Followers: a.GetFollowers(), Verified: a.GetVerified()}, brandFollowers, tier.DefaultThresholds())
	return &fbv1.Reach{
		MentionId: m.GetId(), Platform: m.GetPlatform(), AuthorId: a.GetId(), Followers: a.GetFollowers(),
		Verified: a.GetVerified(), BrandFollowers: brandFollowers, RelativeToBrand: as.Relative,
		Tier: as.Tier, Reasons: as.Reasons, Source: "mention", Velocity: firstVelocity(m),
	}
}

// firstVelocity is the post's reshares in the last hour as the reach
// service counts them at a post's first sight: all of them when the post
// was captured within an hour of being made (or when is not said), none
// when older, since nothing says when they came.
func firstVelocity(m *fbv1.Mention) float64 {
	c := m.GetMetrics()
	if c == nil || m.IngestedAt != nil && m.IngestedAt.AsTime().Sub(m.GetCreatedAt().AsTime()) > time.Hour {
		return 0
	}
	return float64(c.GetReposts() + c.GetQuotes())
}

func countReach(in *replayInput) int {
	n := 0
	for _, r := range in.reaches {
		if r != nil {
			n++
		}
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
