package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	scorersvc "github.com/firebreak/firebreak/services/scorer"
	"strings"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/ingest/mention"
	"github.com/firebreak/firebreak/services/reach/tier"
	"github.com/firebreak/firebreak/services/scorer/score"
)

// testInput is what `firebreak policy test` decides: the mention JSON that
// ingest accepts at /v1/mentions, plus what the live flow would add to it.
// Every addition is optional; what is left out is worked out as the live
// flow would, and the output says so.
type testInput struct {
	mention.JSON
	// Score is the scorer's verdict; left out, the text is scored with the
	// shipped model (or --model / --lexicon-only).
	Score *testScore `json:"score,omitempty"`
	// BrandFollowers is the brand account's audience, for the reach tier.
	BrandFollowers int64 `json:"brand_followers,omitempty"`
	// Reach overrides the reach service's verdict; left out, the tier is
	// assessed from author.followers (to.followers for a brand reply) and
	// brand_followers with the default thresholds.
	Reach *testReach `json:"reach,omitempty"`
	// History is the author's; left out, a complaint is the author's first
	// (1 in the window, streak 1) and anything else has none.
	History *testHistory `json:"history,omitempty"`
	// Reply is the reply check of a brand reply; left out, the scorer
	// checks the text.
	Reply *testReply `json:"reply,omitempty"`
	// To is the customer a brand reply answers; its id defaults to
	// reply_to_author_id.
	To *mention.AuthorJSON `json:"to,omitempty"`
	// Surge is an open incident the mention belongs to (surge.* in CEL);
	// left out, none is open.
	Surge *testSurge `json:"surge,omitempty"`
}

type testSurge struct {
	Authors  int64  `json:"authors"`
	Topic    string `json:"topic"`
	Incident string `json:"incident"`
	Reason   string `json:"reason"`
	Post     string `json:"post"`
}

type testScore struct {
	Complaint float64  `json:"complaint"`
	Compound  float64  `json:"compound"`
	Sentiment string   `json:"sentiment"` // negative, neutral or positive
	Toxicity  float64  `json:"toxicity"`
	Urgency   float64  `json:"urgency"`
	Topics    []string `json:"topics"`
}

type testReach struct {
	Followers           int64   `json:"followers"`
	BrandFollowers      int64   `json:"brand_followers"`
	Tier                string  `json:"tier"` // low, medium, high or rival; left out, assessed
	Verified            bool    `json:"verified"`
	EngagementPerMinute float64 `json:"engagement_per_minute"`
	// Velocity is the post's reshares in the last hour.
	Velocity float64 `json:"velocity"`
}

type testHistory struct {
	ComplaintsInWindow int32 `json:"complaints_in_window"`
	UnansweredStreak   int32 `json:"unanswered_streak"`
}

type testReply struct {
	Hostile        bool          `json:"hostile"`
	Dismissive     bool          `json:"dismissive"`
	NoNextStep     bool          `json:"no_next_step"`
	NoWayForward   bool          `json:"no_way_forward"`
	ExposesPrivate bool          `json:"exposes_private"`
	MovesPrivate   bool          `json:"moves_private"`
	Public         *bool         `json:"public"` // left out: from the mention's visibility
	Findings       []testFinding `json:"findings"`
}

type testFinding struct {
	Code     string `json:"code"`
	Severity string `json:"severity"` // info, warning or critical
	Message  string `json:"message"`
}

// maxInputBytes bounds one test input, as ingest bounds a mention.
const maxInputBytes = 64 << 10

// decodeTestInput reads one input strictly: a misspelt field is refused,
// not ignored.
func decodeTestInput(raw []byte) (*testInput, error) {
	if len(raw) > maxInputBytes {
		return nil, fmt.Errorf("input is %d bytes; at most %d are read", len(raw), maxInputBytes)
	}
	var in testInput
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("read input: %v; see `firebreak policy test -h` for the fields", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("read input: more than one JSON value; give one mention")
	}
	return &in, nil
}

// decided is an input made ready for the policy, with notes on what was
// worked out rather than given.
type decided struct {
	in    policy.Input
	notes []string
}

// inputMaker turns test inputs into policy inputs, scoring texts with a
// scorer it builds only when an input needs one.
type inputMaker struct {
	policy *policy.Policy
	flags  scorerFlags
	scorer *score.Scorer
	now    time.Time
}

func (mk *inputMaker) getScorer() (*score.Scorer, error) {
	if mk.scorer == nil {
		s, err := mk.flags.build()
		if err != nil {
			return nil, err
		}
		mk.scorer = s
	}
	return mk.scorer, nil
}

// make builds the policy input. Ids ingest requires but a test does not
// care about are filled in: platform_id "test", brand "example", author.id
// "test-author".
func (mk *inputMaker) make(t *testInput) (decided, error) {
	var d decided
	j := t.JSON
	fill(&j.PlatformID, "test")
	fill(&j.Brand, "example")
	fill(&j.Author.ID, "test-author")
	if j.BrandReply {
		fill(&j.ReplyToAuthorID, "test-customer")
	}
	m, err := j.Mention(mk.now)
	if err != nil {
		return d, fmt.Errorf("mention: %v", err)
	}
	d.in.Mention = m
	if err := mk.score(t, &d); err != nil {
		return d, err
	}
	if m.BrandReply {
		to := mention.AuthorJSON{ID: m.ReplyToAuthorId}
		if t.To != nil {
			to = *t.To
			fill(&to.ID, m.ReplyToAuthorId)
		}
		d.in.To = &fbv1.Author{Id: to.ID, Handle: to.Handle, Name: to.Name, Followers: to.Followers, Verified: to.Verified}
	}
	if d.in.Reach, err = mk.reach(t, &d); err != nil {
		return d, err
	}
	d.in.History = mk.history(t, &d)
	if s := t.Surge; s != nil {
		d.in.Surge = &policy.SurgeFacts{Active: true, Authors: s.Authors, Topic: s.Topic, Incident: s.Incident, Reason: s.Reason, Post: s.Post}
	}
	return d, nil
}

func fill(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

func (mk *inputMaker) score(t *testInput, d *decided) error {
	m := d.in.Mention
	if t.Score != nil {
		sentiment, err := parseSentiment(t.Score.Sentiment)
		if err != nil {
			return err
		}
		d.in.Score = &fbv1.Score{MentionId: m.Id, Complaint: t.Score.Complaint, Compound: t.Score.Compound, Sentiment: sentiment,
			Toxicity: t.Score.Toxicity, Urgency: t.Score.Urgency, Topics: t.Score.Topics}
	}
	public := m.Visibility != fbv1.Visibility_VISIBILITY_PRIVATE
	if t.Score != nil && (!m.BrandReply || t.Reply != nil) {
		if t.Reply != nil {
			d.in.Score.Reply = t.Reply.proto(public)
		}
		return nil
	}
	s, err := mk.getScorer()
	if err != nil {
		return err
	}
	live := scorersvc.ScoreMention(s, m)
	if d.in.Score == nil {
		d.in.Score = live
		d.notes = append(d.notes, fmt.Sprintf("score from the scorer (%s): complaint %.2f, %s", live.ModelVersion, live.Complaint,
			strings.ToLower(strings.TrimPrefix(live.Sentiment.String(), "SENTIMENT_"))))
	}
	if m.BrandReply && t.Reply == nil {
		d.in.Score.Reply = live.Reply
		d.notes = append(d.notes, "reply check from the scorer: "+replyWords(d.in.Score.Reply))
	} else if t.Reply != nil {
		d.in.Score.Reply = t.Reply.proto(public)
	}
	return nil
}

func parseSentiment(s string) (fbv1.Sentiment, error) {
	switch strings.ToLower(s) {
	case "negative":
		return fbv1.Sentiment_SENTIMENT_NEGATIVE, nil
	case "neutral", "":
		return fbv1.Sentiment_SENTIMENT_NEUTRAL, nil
	case "positive":
		return fbv1.Sentiment_SENTIMENT_POSITIVE, nil
	}
	return 0, fmt.Errorf("score.sentiment %q: use negative, neutral or positive", s)
}

func (r *testReply) proto(public bool) *fbv1.ReplyCheck {
	if r.Public != nil {
		public = *r.Public
	}
	out := &fbv1.ReplyCheck{Hostile: r.Hostile || r.Dismissive, Dismissive: r.Dismissive, NoNextStep: r.NoNextStep, NoWayForward: r.NoWayForward,
		ExposesPrivate: r.ExposesPrivate, MovesPrivate: r.MovesPrivate, Public: public}
	for _, f := range r.Findings {
		sev := fbv1.Severity_SEVERITY_WARNING
		switch strings.ToLower(f.Severity) {
		case "critical":
			sev = fbv1.Severity_SEVERITY_CRITICAL
		case "info":
			sev = fbv1.Severity_SEVERITY_INFO
		}
		out.Findings = append(out.Findings, &fbv1.Finding{Code: f.Code, Severity: sev, Message: f.Message})
	}
	return out
}

func replyWords(c *fbv1.ReplyCheck) string {
	if len(c.GetFindings()) == 0 {
		return "no findings"
	}
	return policy.FindingWords(c, "")
}

// reach is the given reach, or the tier assessed as the reach service
// would from the author's (a brand reply: the customer's) followers.
func (mk *inputMaker) reach(t *testInput, d *decided) (*fbv1.Reach, error) {
	m := d.in.Mention
	author := m.Author
	if d.in.To != nil {
		author = d.in.To
	}
	r := &fbv1.Reach{MentionId: m.Id, Platform: m.Platform, AuthorId: author.Id, Followers: author.Followers,
		Verified: author.Verified, BrandFollowers: t.BrandFollowers}
	if t.Reach != nil {
		if t.Reach.Followers > 0 {
			r.Followers = t.Reach.Followers
		}
		if t.Reach.BrandFollowers > 0 {
			r.BrandFollowers = t.Reach.BrandFollowers
		}
		r.Verified = r.Verified || t.Reach.Verified
		r.EngagementPerMinute = t.Reach.EngagementPerMinute
		r.Velocity = t.Reach.Velocity
	}
	a := tier.Assess(tier.Author{Followers: r.Followers, Verified: r.Verified}, r.BrandFollowers, tier.DefaultThresholds())
	r.Tier, r.RelativeToBrand = a.Tier, a.Relative
	if t.Reach != nil && t.Reach.Tier != "" {
		v, ok := fbv1.Tier_value["TIER_"+strings.ToUpper(t.Reach.Tier)]
		if !ok || v == 0 {
			return nil, fmt.Errorf("reach.tier %q: use low, medium, high or rival", t.Reach.Tier)
		}
		r.Tier = fbv1.Tier(v)
	} else {
		d.notes = append(d.notes, "reach tier "+strings.ToLower(strings.TrimPrefix(r.Tier.String(), "TIER_"))+" assessed: "+strings.Join(a.Reasons, "; "))
	}
	return r, nil
}

// history is the given history, or a first complaint (a brand reply
// answers a customer who complained once).
func (mk *inputMaker) history(t *testInput, d *decided) *fbv1.History {
	h := &fbv1.History{WindowSeconds: int64(mk.policy.Window().Seconds())}
	switch {
	case t.History != nil:
		h.ComplaintsInWindow, h.UnansweredStreak = t.History.ComplaintsInWindow, t.History.UnansweredStreak
	case d.in.Mention.BrandReply || mk.policy.Complaint(d.in.Score):
		h.ComplaintsInWindow, h.UnansweredStreak = 1, 1
		d.notes = append(d.notes, "history: none given, so a first complaint (1 in the window, streak 1)")
	default:
		d.notes = append(d.notes, "history: none given, and not a complaint, so none")
	}
	return h
}
