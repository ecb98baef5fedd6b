package policy

import (
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// fieldProvider is CEL's protobuf type registry with a shortcut: the scalar
// fields policies read most (score.complaint, reach.tier, ...) are read with
// the generated Go getters instead of protobuf reflection, which is most of
// the cost of an expression. Everything else, and any message that is not
// one of ours, goes through the registry as usual; TestFastFieldsAgree keeps
// the two in step.
type fieldProvider struct {
	*types.Registry
	fast map[string]map[string]fastGetter
}

// fastGetter reads one field, and reports false if target is not the
// generated type it expects.
type fastGetter func(target any) (ref.Val, bool)

func newFieldProvider(reg *types.Registry) *fieldProvider {
	return &fieldProvider{Registry: reg, fast: fastFields()}
}

// FindStructFieldType keeps the registry's type and presence test and swaps
// in the fast getter when there is one.
func (p *fieldProvider) FindStructFieldType(structType, fieldName string) (*types.FieldType, bool) {
	ft, ok := p.Registry.FindStructFieldType(structType, fieldName)
	get, fast := p.fast[structType][fieldName]
	if !ok || !fast {
		return ft, ok
	}
	slow := ft.GetFrom
	out := *ft
	out.GetFrom = func(target any) (any, error) {
		if v, ok := get(target); ok {
			return v, nil
		}
		return slow(target)
	}
	return &out, true
}

func getter[M any](get func(M) ref.Val) fastGetter {
	return func(target any) (ref.Val, bool) {
		m, ok := target.(M)
		if !ok {
			return nil, false
		}
		return get(m), true
	}
}

func fastFields() map[string]map[string]fastGetter {
	return map[string]map[string]fastGetter{
		"firebreak.v1.Score": {
			"compound":  getter(func(s *fbv1.Score) ref.Val { return types.Double(s.GetCompound()) }),
			"sentiment": getter(func(s *fbv1.Score) ref.Val { return types.Int(s.GetSentiment()) }),
			"complaint": getter(func(s *fbv1.Score) ref.Val { return types.Double(s.GetComplaint()) }),
			"toxicity":  getter(func(s *fbv1.Score) ref.Val { return types.Double(s.GetToxicity()) }),
			"urgency":   getter(func(s *fbv1.Score) ref.Val { return types.Double(s.GetUrgency()) }),
		},
		"firebreak.v1.Reach": {
			"followers":             getter(func(r *fbv1.Reach) ref.Val { return types.Int(r.GetFollowers()) }),
			"verified":              getter(func(r *fbv1.Reach) ref.Val { return types.Bool(r.GetVerified()) }),
			"brand_followers":       getter(func(r *fbv1.Reach) ref.Val { return types.Int(r.GetBrandFollowers()) }),
			"relative_to_brand":     getter(func(r *fbv1.Reach) ref.Val { return types.Double(r.GetRelativeToBrand()) }),
			"tier":                  getter(func(r *fbv1.Reach) ref.Val { return types.Int(r.GetTier()) }),
			"engagement_per_minute": getter(func(r *fbv1.Reach) ref.Val { return types.Double(r.GetEngagementPerMinute()) }),
		},
		"firebreak.v1.History": {
			"complaints_in_window": getter(func(h *fbv1.History) ref.Val { return types.Int(h.GetComplaintsInWindow()) }),
			"unanswered_streak":    getter(func(h *fbv1.History) ref.Val { return types.Int(h.GetUnansweredStreak()) }),
			"window_seconds":       getter(func(h *fbv1.History) ref.Val { return types.Int(h.GetWindowSeconds()) }),
		},
		"firebreak.v1.Mention": {
			"brand_reply": getter(func(m *fbv1.Mention) ref.Val { return types.Bool(m.GetBrandReply()) }),
			"brand":       getter(func(m *fbv1.Mention) ref.Val { return types.String(m.GetBrand()) }),
			"text":        getter(func(m *fbv1.Mention) ref.Val { return types.String(m.GetText()) }),
			"language":    getter(func(m *fbv1.Mention) ref.Val { return types.String(m.GetLanguage()) }),
			"platform":    getter(func(m *fbv1.Mention) ref.Val { return types.Int(m.GetPlatform()) }),
			"visibility":  getter(func(m *fbv1.Mention) ref.Val { return types.Int(m.GetVisibility()) }),
		},
		"firebreak.v1.Author": {
			"followers": getter(func(a *fbv1.Author) ref.Val { return types.Int(a.GetFollowers()) }),
			"following": getter(func(a *fbv1.Author) ref.Val { return types.Int(a.GetFollowing()) }),
			"verified":  getter(func(a *fbv1.Author) ref.Val { return types.Bool(a.GetVerified()) }),
		},
	}
}
