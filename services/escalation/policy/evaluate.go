package policy

import (
	"context"
	"fmt"
	"slices"
	"time"

	"cel.dev/cel-go/common/types"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Input is what a decision is made from. Score and Reach may be nil when they
// did not arrive in time: the decision is then made from what is known, as if
// they were zero, and its reasons say what was missing. Missing lists other
// inputs the caller knows to be absent or late; nil Score and Reach are added
// to it.
type Input struct {
	Mention *fbv1.Mention
	Score   *fbv1.Score
	Reach   *fbv1.Reach
	History *fbv1.History
	Missing []string
	// To is the customer a brand reply answers (Mention is the reply);
	// nil for the customer's own mentions.
	To *fbv1.Author
	// Surge is the open incident the mention belongs to; nil when none is.
	Surge *SurgeFacts
	// Judged, when this policy judged Score already (Judge), is used for
	// the decision's complaint flag instead of judging Score again.
	Judged Judged
}

// SurgeFacts is `surge` in CEL: the open incident a mention's brand, topic
// or the post it replies to or quotes belongs to (see package surge).
type SurgeFacts struct {
	Active bool `cel:"active"`
	// Authors is how many distinct authors complained in the incident's
	// scope in the last window.
	Authors int64 `cel:"authors"`
	// Topic is the incident's topic ("" for a brand-wide or pile-on one).
	Topic string `cel:"topic"`
	// Incident is the incident's case id.
	Incident string `cel:"incident"`
	// Reason says why the incident opened, in plain words.
	Reason string `cel:"reason"`
	// Post is the post a pile-on gathers on.
	Post string `cel:"post"`
}

// noSurge is no incident open; shared, never changed.
var noSurge = &SurgeFacts{}

// Outcome is the policy's verdict on one mention. Team, Chain and Route come
// from the highest-priority route that matched (the first, on a tie);
// Priority is the highest matched; Reasons are every matched route's, in
// order, followed by what was missing.
type Outcome struct {
	Escalate bool
	Team     string
	Priority fbv1.Priority
	Chain    string
	Route    string
	Reasons  []*fbv1.Reason
	// Quiet is set when the route that picked the team is quiet: the case
	// records the mention and pages nobody.
	Quiet bool
	// Hold is the hold of the route that picked the team: a case the
	// decision opens waits this long before its first page (0: none).
	Hold time.Duration
}

// Reason codes the policy adds on its own.
const (
	CodeMissing    = "missing"     // an input was missing when deciding
	CodeRouteError = "route_error" // a route's expression failed on this input
	CodeHeld       = "held"        // the first page waits for the route's hold
)

// Complaint reports whether the policy counts a score as a complaint. A nil
// score is not a complaint.
func (p *Policy) Complaint(s *fbv1.Score) bool {
	return p.complaintContext(context.Background(), s)
}

// Judged is the policy's answer to Complaint on one score. Deciding a
// mention asks it up to four times (to count the complaint towards surges,
// to decide it) and each is a CEL evaluation: it is judged once and the
// answer passed along. The answer holds only for the policy that gave it
// and that very score, which ComplaintOf checks, so a policy reloaded
// meanwhile, or the shadow policy, judges for itself.
type Judged struct {
	p         *Policy
	score     *fbv1.Score
	complaint bool
	// failed is an evaluation that erred (and answered false).
	failed bool
}

// Judge judges s once, for ComplaintOf and Input.Judged.
func (p *Policy) Judge(s *fbv1.Score) Judged {
	complaint, failed := p.judge(context.Background(), s)
	return Judged{p: p, score: s, complaint: complaint, failed: failed}
}

// Complaint is the judgement.
func (j Judged) Complaint() bool { return j.complaint }

// ComplaintOf is Complaint(s), answered by j when j is this policy's
// judgement of s.
func (p *Policy) ComplaintOf(s *fbv1.Score, j Judged) bool {
	return p.complaintOf(context.Background(), s, j)
}

// Of says whether j is p's judgement of s.
func (j Judged) Of(p *Policy, s *fbv1.Score) bool {
	return j.p == p && j.score == s && s != nil
}

func (p *Policy) complaintOf(ctx context.Context, s *fbv1.Score, j Judged) bool {
	if j.Of(p, s) {
		return j.complaint
	}
	return p.complaintContext(ctx, s)
}

func (p *Policy) complaintContext(ctx context.Context, s *fbv1.Score) bool {
	complaint, _ := p.judge(ctx, s)
	return complaint
}

// judge evaluates the complaint expression on s alone; failed says it
// erred, which counts as no complaint.
func (p *Policy) judge(ctx context.Context, s *fbv1.Score) (complaint, failed bool) {
	if s == nil {
		return false, false
	}
	a := activation{in: p.empty}
	a.in.score = s
	frame, err := newBoundedFrame(ctx, &a, p.complaint.loops)
	if err != nil {
		return false, true
	}
	defer frame.done()
	ok, err := p.complaint.eval(&frame)
	return err == nil && ok, err != nil
}

// Evaluate runs the routes in order over the input. It has no side effects
// and is safe for concurrent use.
//
// A route that matches adds its reasons; unless it says continue, evaluation
// stops there. An ignore route that matches stops evaluation and adds
// nothing. A route whose expression fails on this input (say, a division by
// zero) does not match, and a reason records the failure. The whole
// evaluation runs within MaxEvalTime: a route stopped at the deadline does
// not match either, and its reason says so.
func (p *Policy) Evaluate(in Input) Outcome {
	out, _ := p.EvaluateContext(context.Background(), in)
	return out
}

// EvaluateContext is Evaluate, stopped early when ctx ends. The error says
// whether the evaluation was stopped (ErrDeadline, or ctx's error), in
// which case the outcome is what the routes evaluated by then decided.
func (p *Policy) EvaluateContext(ctx context.Context, in Input) (Outcome, error) {
	a := activation{in: p.with(in)}
	// One execution frame serves every expression of this decision: CEL
	// would otherwise take one from its pool for each, and the frame only
	// reads through to a, whose escalated flag changes between routes. Its
	// deadline is therefore the whole decision's.
	frame, err := newBoundedFrame(ctx, &a, p.loops())
	if err != nil {
		return Outcome{Reasons: []*fbv1.Reason{{Code: CodeRouteError, Text: "policy could not be evaluated: " + err.Error()}}}, nil
	}
	defer frame.done()
	var stopped error
	a.facts = facts{in: &in, score: a.in.score, reach: a.in.reach, hist: a.in.history, policy: p}
	if j := in.Judged; p.complaint.scoreOnly && !p.complaint.loops && j.Of(p, in.Score) && !j.failed {
		// The expression reads the score and nothing else, and this very
		// score was judged: evaluating it again answers the same. (Without
		// loops no deadline is involved; a failed judgement is evaluated
		// again, for its error.)
		a.complaint = types.Bool(j.complaint)
	} else {
		complaint, err := p.complaint.eval(&frame)
		a.complaint = types.Bool(err == nil && complaint)
		if err != nil {
			if stop := frame.stopped(); stop != nil {
				stopped = fmt.Errorf("the complaint expression: %w", stop)
			}
		}
	}
	var out Outcome
	for i := range p.routes {
		r := &p.routes[i]
		if r.match.needsComplaint && !bool(a.complaint) {
			continue
		}
		a.escalated = types.Bool(out.Escalate)
		ok, err := r.match.eval(&frame)
		if err != nil {
			if stop := frame.stopped(); stop != nil && stopped == nil {
				stopped = fmt.Errorf("route %s: %w", r.name, stop)
			}
			out.Reasons = append(out.Reasons, &fbv1.Reason{Code: CodeRouteError,
				Text: "route " + r.name + " could not be evaluated: " + err.Error()})
			continue
		}
		if !ok {
			continue
		}
		if r.ignore {
			break
		}
		if !out.Escalate || r.priority > out.Priority {
			out.Escalate, out.Team, out.Priority, out.Chain, out.Route, out.Quiet, out.Hold = true, r.team, r.priority, r.chain, r.name, r.quiet, r.hold
		}
		if out.Reasons == nil {
			out.Reasons = make([]*fbv1.Reason, 0, 4) // room for a few matches and a missing input
		}
		out.Reasons = append(out.Reasons, &fbv1.Reason{Code: r.code, Text: r.reason.render(&a.facts)})
		if !r.cont {
			break
		}
	}
	if out.Hold > 0 {
		out.Reasons = append(out.Reasons, &fbv1.Reason{Code: CodeHeld, Text: p.heldText(out.Hold)})
	}
	for _, m := range missing(in) {
		out.Reasons = append(out.Reasons, &fbv1.Reason{Code: CodeMissing, Text: m + " unknown: decided without it"})
	}
	return out, stopped
}

// loops reports whether any expression of a decision has a comprehension.
func (p *Policy) loops() bool {
	if p.complaint.loops {
		return true
	}
	for i := range p.routes {
		if p.routes[i].match.loops {
			return true
		}
	}
	return false
}

// with substitutes empty messages for missing ones, so expressions see zero
// values rather than null.
func (p *Policy) with(in Input) inputs {
	all := p.empty
	if in.Mention != nil {
		all.mention = in.Mention
	}
	if in.Score != nil {
		all.score = in.Score
	}
	if in.Reach != nil {
		all.reach = in.Reach
	}
	if in.History != nil {
		all.history = in.History
	}
	if r := in.Score.GetReply(); r != nil {
		all.reply = r
	}
	return all
}

// missing lists the inputs that were absent, the caller's first, without
// repeats.
func missing(in Input) []string {
	if in.Score != nil && in.Reach != nil && len(in.Missing) == 0 {
		return nil
	}
	out := slices.Clone(in.Missing)
	if in.Score == nil && !slices.Contains(out, "score") {
		out = append(out, "score")
	}
	if in.Reach == nil && !slices.Contains(out, "reach") {
		out = append(out, "reach")
	}
	return out
}

// Decide is the policy's verdict on in as the record stored and shown: the
// outcome, the inputs, and what was missing, decided at now. Like Evaluate
// it runs within MaxEvalTime.
func (p *Policy) Decide(in Input, now time.Time) *fbv1.Decision {
	d, _ := p.DecideContext(context.Background(), in, now)
	return d
}

// DecideContext is Decide, stopped early when ctx ends; the error is
// EvaluateContext's.
func (p *Policy) DecideContext(ctx context.Context, in Input, now time.Time) (*fbv1.Decision, error) {
	out, stopped := p.EvaluateContext(ctx, in)
	d := &fbv1.Decision{
		MentionId: in.Mention.GetId(), Brand: in.Mention.GetBrand(),
		Escalate: out.Escalate, Team: out.Team, Priority: out.Priority, Chain: out.Chain, Route: out.Route,
		Reasons: out.Reasons, Complaint: p.complaintOf(ctx, in.Score, in.Judged), History: in.History,
		PolicyVersion: p.Version(), DecidedAt: timestamppb.New(now), Score: in.Score, Reach: in.Reach,
		Mention: in.Mention, Quiet: out.Quiet,
	}
	if out.Quiet {
		// A quiet case has no chain: nothing of it ever pages.
		d.Chain = ""
	}
	if out.Hold > 0 {
		d.Hold = durationpb.New(out.Hold)
	}
	if in.Surge != nil && in.Surge.Active {
		d.Surge = &fbv1.Surge{Active: true, IncidentId: in.Surge.Incident, Authors: in.Surge.Authors,
			Topic: in.Surge.Topic, PostId: in.Surge.Post, Reason: in.Surge.Reason}
	}
	if in.Mention.GetBrandReply() {
		// The brand's own words never count as the author's complaint.
		d.Complaint = false
	}
	if in.Score == nil {
		d.Missing = append(d.Missing, "score")
	}
	if in.Reach == nil {
		d.Missing = append(d.Missing, "reach")
	}
	return d, stopped
}

// heldText says why a decision's first page waits: "held 2m: waiting to
// see whether this is part of a surge".
func (p *Policy) heldText(hold time.Duration) string {
	if p.surges == nil {
		return "held " + Span(hold) + " before paging (the route's hold)"
	}
	return "held " + Span(hold) + ": waiting to see whether this is part of a surge"
}

// GetReason is nil-safe, for reasons rendered with no incident open.
func (s *SurgeFacts) GetReason() string {
	if s == nil {
		return ""
	}
	return s.Reason
}

// GetIncident is nil-safe, as GetReason.
func (s *SurgeFacts) GetIncident() string {
	if s == nil {
		return ""
	}
	return s.Incident
}
