package scorer

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/scorer/score"
)

// MaxDraftChars bounds a draft sent to the reply check.
const MaxDraftChars = score.MaxDraftChars

// maxContextChars bounds the customer's text given as context; it is
// scored, so it is bounded like the draft.
const maxContextChars = 10_000

// errBadDraft marks a request the caller fixes by changing it (400 over
// HTTP, InvalidArgument over gRPC).
var errBadDraft = errors.New("bad draft")

// replyRequest is a request to check a draft, as both APIs receive it.
type replyRequest struct {
	Draft       string
	MentionText string
	// PrivateThread: the conversation being answered was private.
	PrivateThread bool
	Public        bool
}

func (r replyRequest) validate() error {
	if r.Draft == "" {
		return fmt.Errorf("%w: draft is empty; give the reply to check", errBadDraft)
	}
	if n := utf8.RuneCountInString(r.Draft); n > MaxDraftChars {
		return fmt.Errorf("%w: draft is %d characters; at most %d are checked, so shorten it or split it into replies", errBadDraft, n, MaxDraftChars)
	}
	if n := utf8.RuneCountInString(r.MentionText); n > maxContextChars {
		return fmt.Errorf("%w: mention text is %d characters; at most %d are read as context", errBadDraft, n, maxContextChars)
	}
	return nil
}

// checkDraft validates and checks a draft for either API.
func checkDraft(sc *score.Scorer, req replyRequest) (*fbv1.ReplyCheck, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	rc := score.ReplyContext{
		MentionText:   req.MentionText,
		PrivateThread: req.PrivateThread,
		PublicReply:   req.Public,
	}
	if req.MentionText != "" {
		rc.Complaint = sc.Score(req.MentionText).Complaint >= 0.5
	}
	return replyCheckProto(sc.CheckReply(req.Draft, rc), req.Public), nil
}

func (s *Service) scoreMention(m *fbv1.Mention) *fbv1.Score { return ScoreMention(s.scorer, m) }

// ScoreMention scores an ingested mention as the live flow does; a brand
// reply is also checked, in the same pass, and its verdict travels on the
// score. The platform does not give us the text being answered, so the
// check reads the reply alone. `firebreak backtest` scores with it too.
func ScoreMention(sc *score.Scorer, m *fbv1.Mention) *fbv1.Score {
	if !m.BrandReply {
		return scoreProto(m.Id, sc.Score(m.Text))
	}
	public := m.Visibility != fbv1.Visibility_VISIBILITY_PRIVATE
	r, check := sc.ScoreReply(m.Text, score.ReplyContext{PublicReply: public})
	out := scoreProto(m.Id, r)
	out.Reply = replyCheckProto(check, public)
	return out
}

// CheckReply reads an agent's draft reply before it is sent.
func (s *Service) CheckReply(_ context.Context, req *fbv1.CheckReplyRequest) (*fbv1.CheckReplyResponse, error) {
	check, err := checkDraft(s.scorer, replyRequest{
		Draft:         req.Draft,
		MentionText:   req.Mention.GetText(),
		PrivateThread: req.Mention.GetVisibility() == fbv1.Visibility_VISIBILITY_PRIVATE,
		Public:        req.Public,
	})
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &fbv1.CheckReplyResponse{Findings: check.Findings, Check: check}, nil
}

func replyCheckProto(c score.ReplyCheck, public bool) *fbv1.ReplyCheck {
	out := &fbv1.ReplyCheck{
		Hostile:        c.Hostile,
		Dismissive:     c.Dismissive,
		NoNextStep:     c.NoNextStep,
		NoWayForward:   c.NoWayForward,
		ExposesPrivate: c.ExposesPrivate && public,
		MovesPrivate:   c.MovesPrivate,
		Public:         public,
	}
	for _, f := range c.Findings {
		out.Findings = append(out.Findings, &fbv1.Finding{
			Code: f.Code, Severity: severity(f.Severity), Message: f.Message, Start: int32(f.Start), End: int32(f.End),
		})
	}
	return out
}

func severity(s score.Severity) fbv1.Severity {
	switch s {
	case score.SeverityCritical:
		return fbv1.Severity_SEVERITY_CRITICAL
	case score.SeverityWarning:
		return fbv1.Severity_SEVERITY_WARNING
	}
	return fbv1.Severity_SEVERITY_INFO
}
