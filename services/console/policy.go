package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/console/signin"
)

// Scorer is what the console asks of the scorer: a score for a mention an
// admin tries against the policy.
type Scorer interface {
	Score(ctx context.Context, in *fbv1.ScoreRequest, opts ...grpc.CallOption) (*fbv1.ScoreResponse, error)
}

// Bounds on a tried mention.
const (
	maxTryText      = 2000
	maxTryFollowers = 1_000_000_000
	maxTryHistory   = 1000
)

// policyView is the policy page's data.
type policyView struct {
	Status    *fbv1.GetPolicyStatusResponse
	Error     string
	CanTry    bool
	WhyNot    string
	Try       tryForm
	Tried     *fbv1.Decision
	Score     *fbv1.Score
	TryError  string
	Platforms []option
	Tiers     []option
}

// tryForm is what an admin typed, shown again with the result.
type tryForm struct {
	Text, Brand, Handle, Platform, Tier   string
	Followers, BrandFollowers, Complaints int64
	Verified                              bool
}

// policyPage shows the running and shadow policies and the form to try a
// mention against the running one.
func (s *Service) policyPage(w http.ResponseWriter, r *http.Request) {
	data := s.page(r, "Policy", "policy")
	data.Policy = s.policyView(r, tryForm{Brand: "acme", Handle: "dan", Platform: "x", Tier: "rival", Followers: 332_000, BrandFollowers: 203_000, Complaints: 1})
	s.render(w, r, http.StatusOK, "policy", "", data)
}

func (s *Service) policyView(r *http.Request, f tryForm) *policyView {
	person, _ := signin.From(r)
	pv := &policyView{Try: f, CanTry: person.Can(signin.Admin)}
	if !pv.CanTry {
		pv.WhyNot = person.Why(signin.Admin) + "."
	}
	for _, p := range platforms {
		pv.Platforms = append(pv.Platforms, option{Value: p.word, Label: p.word, Selected: p.word == f.Platform})
	}
	for _, t := range tiers {
		pv.Tiers = append(pv.Tiers, option{Value: t.word, Label: t.word, Selected: t.word == f.Tier})
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	st, err := s.escalation.GetPolicyStatus(ctx, &fbv1.GetPolicyStatusRequest{}, s.calls)
	if err != nil {
		pv.Error = "The policy's status cannot be read from escalation now: " + callError(err)
	}
	pv.Status = st
	return pv
}

// tryMention decides a pasted mention with the running policy, touching
// nothing: the scorer scores its text, reach is as the admin says, and
// escalation's EvaluatePolicy decides, in the admin's name.
func (s *Service) tryMention(w http.ResponseWriter, r *http.Request) {
	f, problem := readTry(r)
	data := s.page(r, "Policy", "policy")
	pv := s.policyView(r, f)
	data.Policy = pv
	code := http.StatusOK
	switch {
	case !pv.CanTry:
		code, pv.TryError = http.StatusForbidden, "Nothing was tried: "+pv.WhyNot
	case problem != "":
		code, pv.TryError = http.StatusBadRequest, problem
	default:
		pv.Tried, pv.Score, pv.TryError = s.evaluate(r, f)
		if pv.TryError != "" {
			code = http.StatusServiceUnavailable
		}
	}
	s.render(w, r, code, "policy", "", data)
}

// readTry reads and bounds the form; problem says what to fix.
func readTry(r *http.Request) (tryForm, string) {
	f := tryForm{Text: strings.TrimSpace(r.PostFormValue("text")), Brand: strings.TrimSpace(r.PostFormValue("brand")),
		Handle: strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("handle")), "@"), Platform: r.PostFormValue("platform"),
		Tier: r.PostFormValue("tier"), Verified: r.PostFormValue("verified") != ""}
	var problems []string
	if f.Text == "" || utf8.RuneCountInString(f.Text) > maxTryText {
		problems = append(problems, "the text must be 1 to "+strconv.Itoa(maxTryText)+" characters")
	}
	if f.Brand == "" || len(f.Brand) > maxFilterLength || len(f.Handle) > maxFilterLength {
		problems = append(problems, "the brand is required, and the brand and handle must be short")
	}
	if _, ok := lookup(platforms, f.Platform); !ok || f.Platform == "" {
		problems = append(problems, "choose a platform")
	}
	if _, ok := lookup(tiers, f.Tier); !ok || f.Tier == "" {
		problems = append(problems, "choose a reach tier")
	}
	var err error
	if f.Followers, err = strconv.ParseInt(r.PostFormValue("followers"), 10, 64); err != nil || f.Followers < 0 || f.Followers > maxTryFollowers {
		problems = append(problems, "followers must be a whole number from 0")
	}
	if f.BrandFollowers, err = strconv.ParseInt(r.PostFormValue("brand_followers"), 10, 64); err != nil || f.BrandFollowers < 0 || f.BrandFollowers > maxTryFollowers {
		problems = append(problems, "the brand's followers must be a whole number from 0")
	}
	if f.Complaints, err = strconv.ParseInt(r.PostFormValue("complaints"), 10, 64); err != nil || f.Complaints < 0 || f.Complaints > maxTryHistory {
		problems = append(problems, "complaints in the window must be a whole number from 0 to "+strconv.Itoa(maxTryHistory))
	}
	if len(problems) > 0 {
		return f, "Nothing was tried: " + strings.Join(problems, "; ") + "."
	}
	return f, ""
}

// evaluate scores the text and asks escalation for the decision.
func (s *Service) evaluate(r *http.Request, f tryForm) (*fbv1.Decision, *fbv1.Score, string) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	platform, _ := lookup(platforms, f.Platform)
	tier, _ := lookup(tiers, f.Tier)
	now := timestamppb.New(s.clock.Now())
	m := &fbv1.Mention{Id: "try:console", Platform: platform, Brand: f.Brand, Text: f.Text, CreatedAt: now,
		Author: &fbv1.Author{Id: "try", Handle: f.Handle, Followers: f.Followers, Verified: f.Verified}}
	as := s.credentials(r)
	score, scoreErr := s.scorer.Score(ctx, &fbv1.ScoreRequest{Text: f.Text, Brand: f.Brand}, as)
	if scoreErr != nil {
		return nil, nil, "The scorer cannot score the text now: " + callError(scoreErr)
	}
	// The complaints in the window include this one, none answered, as
	// escalation would count them for a complaint.
	history := &fbv1.History{ComplaintsInWindow: int32(f.Complaints), UnansweredStreak: int32(f.Complaints)}
	reach := &fbv1.Reach{Platform: platform, Followers: f.Followers, Verified: f.Verified, Tier: tier, BrandFollowers: f.BrandFollowers}
	if f.BrandFollowers > 0 {
		reach.RelativeToBrand = float64(f.Followers) / float64(f.BrandFollowers)
	}
	resp, err := s.escalation.EvaluatePolicy(ctx, &fbv1.EvaluatePolicyRequest{Mention: m, Score: score.Score, Reach: reach, History: history}, as)
	if err != nil {
		return nil, score.Score, "Escalation did not decide: " + callError(err)
	}
	return resp.Decision, score.Score, ""
}
