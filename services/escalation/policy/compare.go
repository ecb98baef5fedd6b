package policy

import fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"

// Verdict is the part of a decision two policies are compared on.
type Verdict struct {
	Escalate bool
	Team     string
	Priority fbv1.Priority
}

// Change is how a second verdict on a mention differs from a first: what a
// shadow policy would have done beside the live one, or what --against
// would have done beside --policy.
type Change int

// Changes, from none to a different team at the same priority.
const (
	Same       Change = iota
	OnlyFirst         // the first escalates, the second leaves it alone
	OnlySecond        // the second escalates, the first leaves it alone
	Raised            // both escalate; the second at a higher priority
	Lowered           // both escalate; the second at a lower priority
	OtherTeam         // both escalate at one priority, to different teams
)

// Compare says how b differs from a.
func Compare(a, b Verdict) Change {
	switch {
	case a.Escalate && !b.Escalate:
		return OnlyFirst
	case !a.Escalate && b.Escalate:
		return OnlySecond
	case !a.Escalate:
		return Same
	case b.Priority > a.Priority:
		return Raised
	case b.Priority < a.Priority:
		return Lowered
	case a.Team != b.Team:
		return OtherTeam
	}
	return Same
}
