package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/platform/wording"
)

// summary is the count of what one policy did over the replay.
type summary struct {
	Mentions   int `json:"mentions"`
	Complaints int `json:"complaints"`
	Escalated  int `json:"escalated"`
	// DecidedWithoutReach counts mentions decided with no reach known.
	DecidedWithoutReach int            `json:"decided_without_reach"`
	ByTeam              map[string]int `json:"by_team"`
	ByPriority          map[string]int `json:"by_priority"`
	ByRoute             map[string]int `json:"by_route"`
	// ByTier counts escalations per reach tier, to see whom the policy
	// favours; MentionsByTier is the base to compare them with.
	ByTier             map[string]int `json:"by_tier"`
	MentionsByTier     map[string]int `json:"mentions_by_tier"`
	Cases              int            `json:"cases"`
	Answered           int            `json:"answered"`
	MedianTimeToAnswer string         `json:"median_time_to_answer,omitempty"`
	P90TimeToAnswer    string         `json:"p90_time_to_answer,omitempty"`
	OpenAtEnd          int            `json:"open_at_end"`
	// Breaches counts cases whose first-response target passed unanswered.
	Breaches int `json:"first_response_breaches"`
	// Replies are the brand's replies judged; RepliesAnswered passed the
	// check and the answer rule; FlaggedByKind counts flagged replies by
	// finding; Handoffs moved authors to private messages, and
	// HandoffsUnanswered got no private reply in time.
	Replies            int            `json:"brand_replies"`
	RepliesAnswered    int            `json:"brand_replies_answered"`
	FlaggedByKind      map[string]int `json:"flagged_replies_by_kind"`
	Handoffs           int            `json:"handoffs"`
	HandoffsUnanswered int            `json:"handoffs_unanswered"`
	Pages              int            `json:"pages"`
	PagesByLevel       map[int]int    `json:"pages_by_level"`
	// Silenced counts decisions a silence muted; Viral escalations because
	// the post spread.
	Silenced int `json:"silenced"`
	Viral    int `json:"viral"`
	// Incidents counts incidents opened; each paged once, and counts in
	// Pages. JoinedQuietly counts complaints that joined one paging nobody.
	Incidents     int `json:"incidents"`
	JoinedQuietly int `json:"joined_incidents_quietly"`
	// Held counts cases whose first page a route's hold kept back; of
	// them, HeldJoined joined an incident when the hold ended (paging
	// nobody), HeldPaged paged then, and the rest were still held at the
	// end of the data, or acknowledged or answered meanwhile.
	Held       int `json:"held"`
	HeldJoined int `json:"held_joined_incident"`
	HeldPaged  int `json:"held_then_paged"`
}

func newPolicyReport(file string, p *policy.Policy, s *simulation) policyReport {
	r := policyReport{File: file, Version: p.Version(), Summary: summarize(s), Cases: s.cases, Decisions: s.decisions,
		Silenced: s.silenced, Viral: []decisionRecord{}}
	if r.Silenced == nil {
		r.Silenced = []silencedRecord{}
	}
	for _, d := range s.decisions {
		if d.Escalate && slices.ContainsFunc(d.Reasons, func(r reasonJSON) bool { return r.Code == "spread" }) {
			r.Viral = append(r.Viral, d)
		}
	}
	r.Summary.Silenced, r.Summary.Viral = len(r.Silenced), len(r.Viral)
	r.Incidents = s.surges.incidents
	if r.Incidents == nil {
		r.Incidents = []*incidentRecord{}
	}
	r.Summary.Incidents = len(r.Incidents)
	for _, inc := range r.Incidents {
		r.Summary.JoinedQuietly += inc.Quiet
		r.Summary.Pages++
		r.Summary.PagesByLevel[1]++
	}
	return r
}

func summarize(s *simulation) summary {
	sum := summary{
		ByTeam: map[string]int{}, ByPriority: map[string]int{}, ByRoute: map[string]int{},
		ByTier: map[string]int{}, MentionsByTier: map[string]int{}, PagesByLevel: map[int]int{}, FlaggedByKind: map[string]int{},
	}
	for _, r := range s.replies {
		sum.Replies++
		if r.Answered {
			sum.RepliesAnswered++
		}
		if r.Handoff {
			sum.Handoffs++
		}
		for _, kind := range slices.Compact(slices.Sorted(slices.Values(r.Findings))) {
			sum.FlaggedByKind[kind]++
		}
	}
	for _, d := range s.decisions {
		if d.BrandReply {
			sum.Escalated++
			sum.ByTeam[d.Team]++
			sum.ByPriority[d.Priority]++
			sum.ByRoute[d.Route]++
			continue
		}
		sum.Mentions++
		sum.MentionsByTier[d.Tier]++
		if d.Tier == "UNKNOWN" {
			sum.DecidedWithoutReach++
		}
		if d.Complaint {
			sum.Complaints++
		}
		if d.Escalate {
			sum.Escalated++
			sum.ByTeam[d.Team]++
			sum.ByPriority[d.Priority]++
			sum.ByRoute[d.Route]++
			sum.ByTier[d.Tier]++
		}
	}
	var answerTimes []time.Duration
	for _, c := range s.cases {
		sum.Cases++
		sum.Pages += len(c.Pages)
		if c.Breached {
			sum.Breaches++
		}
		if c.HandoffUnanswered {
			sum.HandoffsUnanswered++
		}
		switch {
		case c.Hold == holdJoined:
			sum.Held++
			sum.HeldJoined++
		case c.Hold == holdPaged:
			sum.Held++
			sum.HeldPaged++
		case c.Hold != "":
			sum.Held++
		}
		for _, p := range c.Pages {
			sum.PagesByLevel[p.Level]++
		}
		if c.AnsweredAt == nil {
			sum.OpenAtEnd++
			continue
		}
		sum.Answered++
		answerTimes = append(answerTimes, c.AnsweredAt.Sub(c.OpenedAt))
	}
	if len(answerTimes) > 0 {
		slices.Sort(answerTimes)
		sum.MedianTimeToAnswer = answerTimes[len(answerTimes)/2].Round(time.Second).String()
		sum.P90TimeToAnswer = answerTimes[min(len(answerTimes)-1, len(answerTimes)*9/10)].Round(time.Second).String()
	}
	return sum
}

// differenceJSON is one mention the two policies decided differently.
type differenceJSON struct {
	MentionID string       `json:"mention_id"`
	At        time.Time    `json:"at"`
	Brand     string       `json:"brand"`
	Author    string       `json:"author"`
	Change    string       `json:"change"` // only_policy, only_against, raised, lowered, team
	Policy    verdict      `json:"policy"`
	Against   verdict      `json:"against"`
	Reasons   []reasonJSON `json:"reasons"` // of the side that escalates higher
}

type verdict struct {
	Escalate bool   `json:"escalate"`
	Team     string `json:"team,omitempty"`
	Priority string `json:"priority,omitempty"`
	Route    string `json:"route,omitempty"`
}

func (v verdict) String() string {
	if !v.Escalate {
		return "-"
	}
	return v.Team + "/" + v.Priority
}

// differences compares two runs over the same replay mention by mention;
// both decided the same mentions in the same order.
func differences(a, b *simulation) []differenceJSON {
	var out []differenceJSON
	for i := range min(len(a.decisions), len(b.decisions)) {
		da, db := &a.decisions[i], &b.decisions[i]
		change := changeOf(da, db)
		if change == "" {
			continue
		}
		reasons := db.Reasons
		if change == "only_policy" || change == "lowered" {
			reasons = da.Reasons
		}
		out = append(out, differenceJSON{
			MentionID: da.MentionID, At: da.At, Brand: da.Brand, Author: da.Author, Change: change,
			Policy:  verdict{da.Escalate, da.Team, da.Priority, da.Route},
			Against: verdict{db.Escalate, db.Team, db.Priority, db.Route},
			Reasons: reasons,
		})
	}
	return out
}

// changeLabels name, in the report, how --against differs from --policy.
var changeLabels = map[policy.Change]string{
	policy.Same: "", policy.OnlyFirst: "only_policy", policy.OnlySecond: "only_against",
	policy.Raised: "raised", policy.Lowered: "lowered", policy.OtherTeam: "team",
}

func changeOf(a, b *decisionRecord) string {
	return changeLabels[policy.Compare(
		policy.Verdict{Escalate: a.Escalate, Team: a.Team, Priority: a.priority},
		policy.Verdict{Escalate: b.Escalate, Team: b.Team, Priority: b.priority})]
}

// writeText writes the report for people: the cases, a summary table, and
// with --against the differences.
func writeText(w io.Writer, r backtestReport, limit int) error {
	in := r.Input
	fmt.Fprintf(w, "Backtest of %s: %s rows, %s customer mentions, %s brand replies, %s skipped (no brand); replayed in %s.\n",
		in.File, wording.Thousands(int64(in.Rows)), wording.Thousands(int64(in.Mentions)), wording.Thousands(int64(in.BrandReplies)),
		wording.Thousands(int64(in.Skipped)), r.Elapsed)
	if unknown := in.Mentions - in.WithReach; unknown > 0 {
		fmt.Fprintf(w, "%s mentions carry no follower count: they were decided without reach.\n", wording.Thousands(int64(unknown)))
	}
	reports := []*policyReport{&r.Policy}
	if r.Against != nil {
		reports = append(reports, r.Against)
	}
	for _, p := range reports {
		fmt.Fprintf(w, "\nCases under %s (%s), highest priority first:\n", p.File, p.Version)
		writeCases(w, p.Cases, limit)
		if len(p.Incidents) > 0 {
			fmt.Fprintf(w, "\nIncidents under %s:\n", p.File)
			writeIncidents(w, p.Incidents)
		}
	}
	fmt.Fprintln(w)
	writeSummary(w, reports)
	if r.Against != nil {
		fmt.Fprintf(w, "\n%s mentions decided differently by %s than by %s:\n",
			wording.Thousands(int64(len(r.Differences))), r.Against.File, r.Policy.File)
		writeDifferences(w, r.Differences, r.Policy.File, r.Against.File, limit)
	}
	return nil
}

func writeCases(w io.Writer, cases []*caseRecord, limit int) {
	sorted := slices.Clone(cases)
	slices.SortStableFunc(sorted, func(a, b *caseRecord) int {
		return cmp.Or(cmp.Compare(priorityRank(b.Priority), priorityRank(a.Priority)), a.OpenedAt.Compare(b.OpenedAt))
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tOPENED\tBRAND\tAUTHOR\tTEAM\tPRIORITY\tLEVEL\tPAGES\tANSWERED\tWHY")
	for i, c := range sorted {
		if limit > 0 && i == limit {
			fmt.Fprintf(tw, "... and %s more (--limit 0 lists all; --json gives everything)\n", wording.Thousands(int64(len(sorted)-limit)))
			break
		}
		answered := "no"
		if c.AnsweredAt != nil {
			answered = "after " + c.AnsweredAt.Sub(c.OpenedAt).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", c.ID, c.OpenedAt.Format("2006-01-02 15:04"), c.Brand, c.Author,
			c.Team, c.Priority, c.Level, len(c.Pages), answered, why(c.Reasons))
	}
	tw.Flush()
}

// why joins the reasons for a table cell. The missing-input reasons are left
// out: the header already says how many mentions lacked reach.
func why(rs []reasonJSON) string {
	var texts []string
	for _, r := range rs {
		if r.Code != policy.CodeMissing {
			texts = append(texts, r.Text)
		}
	}
	return strings.Join(texts, "; ")
}

func writeSummary(w io.Writer, reports []*policyReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	row := func(label string, value func(s summary) string) {
		cells := []string{label}
		for _, p := range reports {
			cells = append(cells, value(p.Summary))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	count := func(f func(s summary) int) func(s summary) string {
		return func(s summary) string { return wording.Thousands(int64(f(s))) }
	}
	head := []string{"SUMMARY"}
	for _, p := range reports {
		head = append(head, p.File)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	row("customer mentions", count(func(s summary) int { return s.Mentions }))
	row("complaints", count(func(s summary) int { return s.Complaints }))
	row("escalated", count(func(s summary) int { return s.Escalated }))
	for _, team := range keys(reports, func(s summary) map[string]int { return s.ByTeam }) {
		row("  to "+team, count(func(s summary) int { return s.ByTeam[team] }))
	}
	for _, p := range []string{"CRITICAL", "HIGH", "NORMAL", "LOW"} {
		row("  at "+p, count(func(s summary) int { return s.ByPriority[p] }))
	}
	for _, t := range keys(reports, func(s summary) map[string]int { return s.MentionsByTier }) {
		row("  from tier "+t+" (of its mentions)", func(s summary) string {
			return wording.Thousands(int64(s.ByTier[t])) + " of " + wording.Thousands(int64(s.MentionsByTier[t]))
		})
	}
	row("cases opened", count(func(s summary) int { return s.Cases }))
	row("  answered by the brand", count(func(s summary) int { return s.Answered }))
	row("  time to first answer, p50", func(s summary) string { return cmp.Or(s.MedianTimeToAnswer, "-") })
	row("  time to first answer, p90", func(s summary) string { return cmp.Or(s.P90TimeToAnswer, "-") })
	row("  not answered by end of data", count(func(s summary) int { return s.OpenAtEnd }))
	row("  first-response breaches", count(func(s summary) int { return s.Breaches }))
	row("brand replies", count(func(s summary) int { return s.Replies }))
	row("  counted as answers", count(func(s summary) int { return s.RepliesAnswered }))
	for _, kind := range keys(reports, func(s summary) map[string]int { return s.FlaggedByKind }) {
		row("  flagged "+kind, count(func(s summary) int { return s.FlaggedByKind[kind] }))
	}
	row("  moved to private messages", count(func(s summary) int { return s.Handoffs }))
	row("    with no private reply in time", count(func(s summary) int { return s.HandoffsUnanswered }))
	row("escalated as the post spread", count(func(s summary) int { return s.Viral }))
	row("silenced (decided, paged nobody)", count(func(s summary) int { return s.Silenced }))
	row("incidents (a surge, paging once)", count(func(s summary) int { return s.Incidents }))
	row("  complaints that joined one quietly", count(func(s summary) int { return s.JoinedQuietly }))
	row("first pages held (a route's hold)", count(func(s summary) int { return s.Held }))
	row("  joined an incident when the hold ended", count(func(s summary) int { return s.HeldJoined }))
	row("  paged when the hold ended", count(func(s summary) int { return s.HeldPaged }))
	row("pages", count(func(s summary) int { return s.Pages }))
	levels := map[int]bool{}
	for _, p := range reports {
		for l := range p.Summary.PagesByLevel {
			levels[l] = true
		}
	}
	for _, l := range slices.Sorted(maps.Keys(levels)) {
		row("  level "+strconv.Itoa(l), count(func(s summary) int { return s.PagesByLevel[l] }))
	}
	tw.Flush()
}

func writeDifferences(w io.Writer, diffs []differenceJSON, a, b string, limit int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "WHEN\tBRAND\tAUTHOR\tCHANGE\t%s\t%s\tWHY\n", strings.ToUpper(a), strings.ToUpper(b))
	for i, d := range diffs {
		if limit > 0 && i == limit {
			fmt.Fprintf(tw, "... and %s more\n", wording.Thousands(int64(len(diffs)-limit)))
			break
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.At.Format("2006-01-02 15:04"), d.Brand, d.Author, d.Change,
			d.Policy, d.Against, why(d.Reasons))
	}
	tw.Flush()
}

// keys lists the keys of a per-policy map across every report, sorted.
func keys(reports []*policyReport, m func(s summary) map[string]int) []string {
	seen := map[string]bool{}
	for _, p := range reports {
		for k := range m(p.Summary) {
			seen[k] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// progress draws a bar on stderr while the backtest runs, and only when
// stderr is a terminal, so scripts and logs get clean output.
type progress struct {
	w     io.Writer
	total int
	last  time.Time
}

func newProgress(w io.Writer, total int) *progress {
	f, ok := w.(*os.File)
	if !ok || total == 0 {
		return &progress{}
	}
	info, err := f.Stat()
	if err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return &progress{}
	}
	return &progress{w: f, total: total}
}

// offset returns a callback for one phase, whose count starts at base.
func (p *progress) offset(base int) func(done int) {
	return func(done int) { p.show(base + done) }
}

func (p *progress) show(done int) {
	if p.w == nil || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 30
	filled := width * done / p.total
	fmt.Fprintf(p.w, "\rbacktest [%s%s] %3d%%", strings.Repeat("#", filled), strings.Repeat(".", width-filled), 100*done/p.total)
}

func (p *progress) done() {
	if p.w != nil {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// priorityRank orders priority names, CRITICAL highest.
func priorityRank(name string) int32 {
	return fbv1.Priority_value["PRIORITY_"+name]
}
