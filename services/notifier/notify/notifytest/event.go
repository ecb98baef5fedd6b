package notifytest

import (
	"fmt"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Opened is the story case: a customer with 332,000 followers complaining a
// third time about a brand with 203,000, opened at level 1 for team.
func Opened(caseID, team string, at time.Time) *fbv1.CaseEvent {
	c := &fbv1.Case{
		Id:       caseID,
		Brand:    "acme-mobile",
		Platform: fbv1.Platform_PLATFORM_X,
		Author:   &fbv1.Author{Id: "x:42", Handle: "frequentflyer", Name: "Sam Doe", Followers: 332000, Verified: true},
		State:    fbv1.CaseState_CASE_STATE_OPEN,
		Priority: fbv1.Priority_PRIORITY_CRITICAL,
		Team:     team,
		Chain:    "senior",
		Level:    1,
		Reasons: []*fbv1.Reason{
			{Code: "high_reach", Text: "author has 332,000 followers, 1.6x the brand's 203,000"},
			{Code: "repeat", Text: "third complaint in 24 hours, none answered"},
		},
		OpenedAt: timestamppb.New(at),
		Reach: &fbv1.Reach{
			Followers: 332000, BrandFollowers: 203000, RelativeToBrand: 1.64, Tier: fbv1.Tier_TIER_RIVAL,
		},
		Texts: []string{"Still no signal at home.", "Second time asking: <when> will it be fixed?", "Your reply was \"a bit harsh\"? Really?"},
	}
	return &fbv1.CaseEvent{
		Id:    fmt.Sprintf("%s:opened", caseID),
		Type:  fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED,
		Case:  c,
		Level: 1,
		At:    timestamppb.New(at),
	}
}

// Escalated is ev's case escalated to level.
func Escalated(ev *fbv1.CaseEvent, level int32) *fbv1.CaseEvent {
	c := cloneCase(ev.GetCase())
	c.Level = level
	return &fbv1.CaseEvent{Id: fmt.Sprintf("%s:escalated:%d", c.GetId(), level), Type: fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED, Case: c, Level: level, At: ev.GetAt()}
}

// Resolved is ev's case resolved by actor at.
func Resolved(ev *fbv1.CaseEvent, actor string, at time.Time) *fbv1.CaseEvent {
	c := cloneCase(ev.GetCase())
	c.State = fbv1.CaseState_CASE_STATE_RESOLVED
	c.ResolvedAt, c.ResolvedBy = timestamppb.New(at), actor
	return &fbv1.CaseEvent{Id: c.GetId() + ":resolved", Type: fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED, Case: c, Actor: actor, Level: c.GetLevel(), At: timestamppb.New(at)}
}

// Acknowledged is ev's case acknowledged by actor at.
func Acknowledged(ev *fbv1.CaseEvent, actor string, at time.Time) *fbv1.CaseEvent {
	c := cloneCase(ev.GetCase())
	c.State = fbv1.CaseState_CASE_STATE_ACKNOWLEDGED
	c.AcknowledgedAt, c.AcknowledgedBy = timestamppb.New(at), actor
	return &fbv1.CaseEvent{Id: c.GetId() + ":acknowledged", Type: fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED, Case: c, Actor: actor, Level: c.GetLevel(), At: timestamppb.New(at)}
}

func cloneCase(c *fbv1.Case) *fbv1.Case {
	return proto.CloneOf(c)
}
