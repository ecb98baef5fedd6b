package notify

import (
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// privateNote stands in for a private text a receiver may not carry.
const privateNote = "(private message: open the case to read it)"

// WithoutPrivate returns events with the author's private messages and the
// brand's private replies taken out, for receivers that do not set
// include_private: a page lands in channels and inboxes that the people in
// a private conversation never agreed to. Events without private text are
// returned as they are; others are copied, never changed in place, since
// the fanout shares them between receivers.
func WithoutPrivate(events []*fbv1.CaseEvent) []*fbv1.CaseEvent {
	out := events
	for i, e := range events {
		if !hasPrivate(e) {
			continue
		}
		if &out[0] == &events[0] {
			out = append([]*fbv1.CaseEvent(nil), events...)
		}
		c := proto.Clone(e).(*fbv1.CaseEvent)
		c.Case.PrivateTexts = nil
		for _, r := range c.Case.GetReplies() {
			redactReply(r)
		}
		redactReply(c.Reply)
		out[i] = c
	}
	return out
}

func hasPrivate(e *fbv1.CaseEvent) bool {
	if len(e.GetCase().GetPrivateTexts()) > 0 || isPrivate(e.GetReply()) {
		return true
	}
	for _, r := range e.GetCase().GetReplies() {
		if isPrivate(r) {
			return true
		}
	}
	return false
}

func isPrivate(r *fbv1.BrandReply) bool {
	return r.GetVisibility() == fbv1.Visibility_VISIBILITY_PRIVATE
}

func redactReply(r *fbv1.BrandReply) {
	if !isPrivate(r) {
		return
	}
	r.Text = privateNote
	for _, f := range r.GetCheck().GetFindings() {
		f.Start, f.End = 0, 0
	}
}
