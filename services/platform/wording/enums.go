package wording

import fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"

// The contract's enums in the words people read. They switch rather than
// go through protobuf reflection, which would dominate the cost of a
// reason rendered on every decision. Unspecified values are "", so each
// caller says what a missing value reads as.

// Priority is "critical", "high", "normal" or "low".
func Priority(p fbv1.Priority) string {
	switch p {
	case fbv1.Priority_PRIORITY_CRITICAL:
		return "critical"
	case fbv1.Priority_PRIORITY_HIGH:
		return "high"
	case fbv1.Priority_PRIORITY_NORMAL:
		return "normal"
	case fbv1.Priority_PRIORITY_LOW:
		return "low"
	}
	return ""
}

// State is "open", "acknowledged" or "resolved".
func State(s fbv1.CaseState) string {
	switch s {
	case fbv1.CaseState_CASE_STATE_OPEN:
		return "open"
	case fbv1.CaseState_CASE_STATE_ACKNOWLEDGED:
		return "acknowledged"
	case fbv1.CaseState_CASE_STATE_RESOLVED:
		return "resolved"
	}
	return ""
}

// Tier is "rival", "high", "medium" or "low".
func Tier(t fbv1.Tier) string {
	switch t {
	case fbv1.Tier_TIER_RIVAL:
		return "rival"
	case fbv1.Tier_TIER_HIGH:
		return "high"
	case fbv1.Tier_TIER_MEDIUM:
		return "medium"
	case fbv1.Tier_TIER_LOW:
		return "low"
	}
	return ""
}

// Sentiment is "negative", "neutral" or "positive".
func Sentiment(s fbv1.Sentiment) string {
	switch s {
	case fbv1.Sentiment_SENTIMENT_NEGATIVE:
		return "negative"
	case fbv1.Sentiment_SENTIMENT_NEUTRAL:
		return "neutral"
	case fbv1.Sentiment_SENTIMENT_POSITIVE:
		return "positive"
	}
	return ""
}

// Severity is "critical", "warning", or "info" for anything less.
func Severity(s fbv1.Severity) string {
	switch s {
	case fbv1.Severity_SEVERITY_CRITICAL:
		return "critical"
	case fbv1.Severity_SEVERITY_WARNING:
		return "warning"
	}
	return "info"
}
