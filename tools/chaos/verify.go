package chaos

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/firebreak/firebreak/tools/load"
)

// The checker keeps a ledger per mention, accepted → scored → reached →
// decided → case event → page per receiver, and per page slot (case ×
// episode × round × level) the pages each receiver got. Everything it reads
// is gathered first into an Observed (observe.go), so the checks here are
// pure functions of plain data and are unit-tested on synthetic ledgers.

// Expected names what a fault causes on purpose: the checker reports it but
// does not count it as a failure.
type Expected struct {
	// Partial: the fault outlasts the join timeout, so decisions made
	// without a score or a reach are its expected outcome.
	Partial bool
	// DeadLetters: the fault makes messages undeliverable.
	DeadLetters bool
	// Forgotten: the fault loses Redis's latest writes on purpose (a
	// power loss under appendfsync everysec), so escalation may forget
	// decisions made just before it: the loss window is measured, not
	// failed. What the forgetting causes (pages twice, cases opened
	// twice) still fails.
	Forgotten bool
}

// Event is the part of a case event the checks need.
type Event struct {
	ID, Type          string // Type as in the enum, "CASE_EVENT_TYPE_OPENED"
	CaseID, MentionID string
	Team              string
	Episode, Round    int32
	Level             int32
	// Receivers are the chain level's receivers, when the event names them.
	Receivers []string
	// Muted events (silenced, or quiet inside an incident) page nobody.
	Muted bool
	At    time.Time
}

// Pages reports whether the event should page someone.
func (e Event) Pages() bool {
	switch e.Type {
	case typeOpened, typeEscalated, typeReopened:
		return !e.Muted
	}
	return false
}

// Slot is one firing of one chain level: each receiver of the level is
// paged exactly once for it.
func (e Event) Slot() Slot {
	return Slot{Case: e.CaseID, Episode: e.Episode, Round: e.Round, Level: max(e.Level, 1)}
}

// Case event types, as the cases stream and the webhook body name them.
const (
	typeOpened    = "CASE_EVENT_TYPE_OPENED"
	typeUpdated   = "CASE_EVENT_TYPE_UPDATED"
	typeEscalated = "CASE_EVENT_TYPE_ESCALATED"
	typeReopened  = "CASE_EVENT_TYPE_REOPENED"
)

// Slot is a case × episode × round × level.
type Slot struct {
	Case                  string
	Episode, Round, Level int32
}

func (s Slot) String() string {
	return fmt.Sprintf("%s e%d.r%d.l%d", s.Case, s.Episode, s.Round, s.Level)
}

// DeadLetter is one message a service gave up on.
type DeadLetter struct {
	At                         time.Time
	Reason, Subject, MentionID string
}

// Delivery is the notifier's record of one attempt to page a receiver
// about an event, from the notifications stream: it explains a missing
// page.
type Delivery struct {
	EventID, Receiver string
	Outcome           string // "DELIVERED", "FAILED", ...
	Attempt           int32
	Error             string
}

// Routing says who a paging event should reach and which receivers would
// show a person a repeated page.
type Routing struct {
	// Known are the receivers the notifier has; an event naming another
	// is routed by team and level instead, as the notifier does.
	Known map[string]bool
	// Route is the team routing of the notifier's receivers file; nil
	// expects at least one page per slot, to any receiver.
	Route func(team string, level int32) []string
	// NoDedup are receivers that cannot drop a repeat under the same
	// Idempotency-Key (Slack, email, a webhook without dedup): a person
	// sees every copy.
	NoDedup map[string]bool
}

func (r Routing) expected(e Event) []string {
	if len(e.Receivers) > 0 && !slices.ContainsFunc(e.Receivers, func(n string) bool { return !r.Known[n] }) {
		return e.Receivers
	}
	if r.Route == nil {
		return nil
	}
	return r.Route(e.Team, max(e.Level, 1))
}

// Observed is everything the checker read after the run.
type Observed struct {
	// Scored and Reached hold the mentions with a scored or reached event
	// on the mentions stream.
	Scored, Reached map[string]bool
	// Decided are the decisions collected after each phase settled.
	Decided map[string]load.Decided
	// Later are the decisions asked for again at the end of the run: one
	// missing there was forgotten by a later fault. Nil skips the check.
	Later map[string]load.Decided
	// Events are the case events, the first copy of each id, in stream
	// order.
	Events      []Event
	Pages       []load.Page
	Deliveries  []Delivery
	DeadLetters []DeadLetter
	// Unexplained counts dead letters without a Firebreak-Dead-Reason.
	Unexplained int
}

// Row is one line of the result table: one fault's phase.
type Row struct {
	Fault    string
	Mentions int
	// Lost: never accepted, never decided, or (unless the fault meant it)
	// decided without a part.
	Lost int
	// Partial: decided on the join timeout without a score or a reach
	// (counted lost too when the part never came, revised when it did).
	Partial     int
	DeadLetters int
	// NoEvent: decisions to escalate with no case event on the stream.
	NoEvent int
	// Unpaged: receivers of a fired level that never got its page.
	Unpaged int
	// DupPages: repeats of a slot's page to a receiver that a person sees:
	// under another key, or under the same key to a receiver that cannot
	// drop it.
	DupPages     int
	DupDecisions int
	CasesTwice   int
	// Forgotten: decisions escalation no longer knew at the end of the run.
	Forgotten int
	// ChainLevels: levels the chain timers fired (escalated events).
	ChainLevels int
	// Recovery is the longest time from a fault's start to the decision
	// (the page, for receiver faults) of a mention in flight or sent
	// during it.
	Recovery time.Duration
	Expect   Expected
	Notes    []string
}

func (r Row) failed() bool {
	dead, partial := r.DeadLetters, r.Partial
	if r.Expect.DeadLetters {
		dead = 0
	}
	if r.Expect.Partial {
		partial = 0
	}
	forgotten := r.Forgotten
	if r.Expect.Forgotten {
		forgotten = 0
	}
	return r.Lost+partial+r.NoEvent+r.Unpaged+r.DupPages+r.DupDecisions+r.CasesTwice+forgotten+dead > 0
}

func (r *Row) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Verdict is the outcome of the whole run.
type Verdict struct {
	Rows        []Row
	DeadLetters int
	// Unexplained are dead letters without a Firebreak-Dead-Reason.
	Unexplained int
	Reasons     map[string]int
	// SameKeyRepeats are pages repeated under one Idempotency-Key to
	// receivers that drop them: allowed.
	SameKeyRepeats int
	Failures       []string
}

// Check builds the ledger of every phase from what was observed.
func Check(runs []PhaseRun, ob Observed, rt Routing) Verdict {
	v := Verdict{Reasons: map[string]int{}, Unexplained: ob.Unexplained}
	phaseOf := map[string]int{} // mention -> phase
	for i, r := range runs {
		for _, m := range r.Sent {
			phaseOf[m.ID()] = i
		}
	}
	// owner is the phase an event or a dead letter belongs to: its
	// mention's, or the phase running when it happened.
	owner := func(mention string, at time.Time) int {
		if i, ok := phaseOf[mention]; ok && mention != "" {
			return i
		}
		return phaseAt(runs, at)
	}
	rows := make([]Row, len(runs))
	for i, r := range runs {
		rows[i] = Row{Fault: r.Name, Expect: r.Expect}
	}

	decisionEvents := map[string][]string{} // mention -> distinct decision-driven events
	opened := map[string][]Event{}          // case -> opened events
	slots := map[Slot]Event{}               // the first paging event of each slot
	var slotOrder []Slot
	for _, e := range ob.Events {
		switch e.Type {
		case typeOpened, typeUpdated, typeReopened, typeEscalated:
			if e.MentionID != "" {
				decisionEvents[e.MentionID] = append(decisionEvents[e.MentionID], e.ID)
			}
		}
		if e.Type == typeOpened {
			opened[e.CaseID] = append(opened[e.CaseID], e)
		}
		if !e.Pages() {
			continue
		}
		if _, seen := slots[e.Slot()]; seen {
			continue
		}
		slots[e.Slot()] = e
		slotOrder = append(slotOrder, e.Slot())
		if e.Type == typeEscalated && e.MentionID == "" {
			rows[owner("", e.At)].ChainLevels++
		}
	}

	got, firstPage := pagesBySlot(ob.Pages)
	recorded := map[[2]string][]string{} // event, receiver -> what the notifier recorded
	for _, d := range ob.Deliveries {
		what := fmt.Sprintf("%s attempt %d", strings.ToLower(d.Outcome), d.Attempt)
		if d.Error != "" {
			what += ": " + d.Error
		}
		recorded[[2]string{d.EventID, d.Receiver}] = append(recorded[[2]string{d.EventID, d.Receiver}], what)
	}
	notifierSaid := func(e Event, receiver string) string {
		if said := recorded[[2]string{e.ID, receiver}]; len(said) > 0 {
			return "the notifier recorded " + strings.Join(said[max(0, len(said)-3):], "; ")
		}
		return "the notifier recorded no attempt"
	}
	for _, slot := range slotOrder {
		e := slots[slot]
		row := &rows[owner(e.MentionID, e.At)]
		want := rt.expected(e)
		if len(want) == 0 && len(got[slot]) == 0 {
			row.Unpaged++
			row.note("%s (%s, mention %q) fired but nobody was paged", slot, e.ID, e.MentionID)
		}
		for _, receiver := range want {
			if len(got[slot][receiver]) == 0 {
				row.Unpaged++
				row.note("%s (%s, mention %q) fired but %s was never paged; %s", slot, e.ID, e.MentionID, receiver, notifierSaid(e, receiver))
			}
		}
		for _, receiver := range slices.Sorted(maps.Keys(got[slot])) {
			keys := got[slot][receiver]
			dups := len(keys) - 1
			for _, n := range keys {
				if rt.NoDedup[receiver] {
					dups += n - 1
				} else {
					v.SameKeyRepeats += n - 1
				}
			}
			if dups > 0 {
				row.DupPages += dups
				row.note("%s paged %s %d times (keys %v)", slot, receiver, dups+1, keys)
			}
		}
	}

	for i, r := range runs {
		row := &rows[i]
		for _, m := range r.Sent {
			ledgerOf(m, ob, decisionEvents, row)
		}
		row.CasesTwice += casesTwice(opened, phaseOf, i, row)
		row.Recovery = recovery(r, ob.Decided, firstPage, slots, row)
	}
	for _, d := range ob.DeadLetters {
		row := &rows[owner(d.MentionID, d.At)]
		row.DeadLetters++
		v.DeadLetters++
		reason := d.Reason
		if len(reason) > 80 {
			reason = reason[:80]
		}
		v.Reasons[reason]++
		row.note("dead letter at %s from %s (mention %q): %s", d.At.Format("15:04:05.000"), d.Subject, d.MentionID, reason)
	}
	v.Rows = rows
	for _, row := range v.Rows {
		if row.failed() {
			v.Failures = append(v.Failures, row.Fault)
		}
	}
	if v.Unexplained > 0 {
		v.Failures = append(v.Failures, "dead letters without a reason")
	}
	return v
}

// ledgerOf follows one mention from ingest to its case event.
func ledgerOf(m load.Sent, ob Observed, decisionEvents map[string][]string, row *Row) {
	id := m.ID()
	if m.Accepted.IsZero() {
		row.Lost++
		row.note("%s never accepted by ingest: %s", id, m.Err)
		return
	}
	if m.BrandReply {
		return // a reply is checked against the case, not decided
	}
	row.Mentions++
	d, ok := ob.Decided[id]
	if !ok {
		row.Lost++
		row.note("%s (author %s) accepted at %s, %s, never decided", id, m.Author.ID, m.Accepted.Format("15:04:05.000"), stages(id, ob))
		return
	}
	switch {
	case len(d.Missing) > 0:
		row.Partial++
		if !row.Expect.Partial {
			row.Lost++
		}
		row.note("%s decided at %s without %v (%s)", id, d.At.Format("15:04:05.000"), d.Missing, stages(id, ob))
	case d.Revised:
		// The part came late: nothing is lost, but the mention was first
		// decided on the join timeout, without it.
		row.Partial++
		row.note("%s decided on the join timeout without a part, revised at %s when it came", id, d.At.Format("15:04:05.000"))
	}
	if ob.Later != nil {
		if _, still := ob.Later[id]; !still {
			row.Forgotten++
			row.note("%s decided at %s, unknown to escalation at the end of the run", id, d.At.Format("15:04:05.000"))
		}
	}
	events := slices.Compact(slices.Sorted(slices.Values(decisionEvents[id])))
	if d.Escalate && len(events) == 0 {
		row.NoEvent++
		row.note("%s escalated (case %s) at %s, no case event on the stream", id, d.CaseID, d.At.Format("15:04:05.000"))
	}
	if len(events) > 1 {
		row.DupDecisions++
		row.note("%s decided into %d case events: %v", id, len(events), events)
	}
}

// stages says how far a mention got on the mentions stream.
func stages(id string, ob Observed) string {
	word := func(ok bool, what string) string {
		if ok {
			return what
		}
		return "not " + what
	}
	return word(ob.Scored[id], "scored") + ", " + word(ob.Reached[id], "reached")
}

// pagesBySlot groups the pages that trigger by slot, receiver and
// Idempotency-Key, and finds each slot's first page.
func pagesBySlot(pages []load.Page) (map[Slot]map[string]map[string]int, map[Slot]time.Time) {
	got := map[Slot]map[string]map[string]int{}
	first := map[Slot]time.Time{}
	for _, p := range pages {
		receiver := cmp.Or(p.Receiver, "webhook")
		for _, e := range p.Events {
			switch e.Type {
			case typeOpened, typeEscalated, typeReopened:
			default:
				continue
			}
			slot := Slot{Case: e.Case.ID, Episode: e.Case.Episode, Round: e.Round, Level: max(e.Level, 1)}
			if got[slot] == nil {
				got[slot] = map[string]map[string]int{}
			}
			if got[slot][receiver] == nil {
				got[slot][receiver] = map[string]int{}
			}
			got[slot][receiver][p.IdempotencyKey]++
			if t, ok := first[slot]; !ok || p.At.Before(t) {
				first[slot] = p.At
			}
		}
	}
	return got, first
}

// casesTwice counts the cases opened more than once whose last opening
// came from phase i's mentions: a case opened again belongs to the phase
// that opened it again.
func casesTwice(opened map[string][]Event, phaseOf map[string]int, i int, row *Row) int {
	n := 0
	for _, caseID := range slices.Sorted(maps.Keys(opened)) {
		events := opened[caseID]
		if len(events) < 2 {
			continue
		}
		if p, ok := phaseOf[events[len(events)-1].MentionID]; !ok || p != i {
			continue
		}
		n++
		ids := make([]string, len(events))
		for j, e := range events {
			ids[j] = e.ID
		}
		row.note("case %s opened %d times: %v", caseID, len(events), ids)
	}
	return n
}

// phaseAt is the phase running at t: the last one started by then.
func phaseAt(runs []PhaseRun, t time.Time) int {
	i := 0
	for j, r := range runs {
		if !r.Start.IsZero() && !t.Before(r.Start) {
			i = j
		}
	}
	return i
}

// isReceiverFault says whether a window broke the receiver rather than the
// pipeline: its recovery ends at the page, not the decision.
func isReceiverFault(w Window) bool {
	return strings.HasPrefix(w.Fault, "receiver") || strings.Contains(w.Fault, "notifier")
}

// recovery is, over the phase's fault windows, the longest time from a
// fault's start to the decision (or, for receiver faults, the first page)
// of every mention in flight at that moment or sent before the system was
// whole again: started by the window's end, finished after its start.
func recovery(r PhaseRun, decided map[string]load.Decided, firstPage map[Slot]time.Time, slots map[Slot]Event, row *Row) time.Duration {
	pageOf := map[string]time.Time{} // mention -> first page of the slot it fired
	for slot, e := range slots {
		if e.MentionID != "" {
			if t, ok := firstPage[slot]; ok {
				pageOf[e.MentionID] = t
			}
		}
	}
	var worst time.Duration
	var which string
	for _, w := range r.Windows {
		receiver := isReceiverFault(w)
		for _, m := range r.Sent {
			d, ok := decided[m.ID()]
			if !ok || m.Sent.After(w.Restored.Add(time.Second)) {
				continue
			}
			end, what := d.At, "decided"
			if receiver {
				if end, what = pageOf[m.ID()], "paged"; end.IsZero() {
					continue
				}
			}
			if end.Before(w.At) {
				continue // done before the fault
			}
			if took := end.Sub(w.At); took > worst {
				worst = took
				which = fmt.Sprintf("%s at %s: mention %s sent %s, %s %s", w.Fault, w.At.Format("15:04:05.000"), m.ID(),
					m.Sent.Format("15:04:05.000"), what, end.Format("15:04:05.000"))
			}
		}
	}
	if worst > 10*time.Second {
		row.note("slow recovery (not a failure): %s", which)
	}
	return worst
}

// Print writes the table and the details of every finding.
func (v Verdict) Print(w io.Writer) {
	const head = "%-28s %8s %5s %8s %5s %8s %7s %9s %8s %8s %6s %9s\n"
	const line = "%-28s %8d %5d %8d %5d %8d %7d %9d %8d %8d %6d %9s\n"
	fmt.Fprintf(w, "\n"+head, "FAULT", "MENTIONS", "LOST", "NO PART", "DEAD", "NO EVENT", "UNPAGED", "DUP PAGES", "DUP DECS", "CASES x2", "CHAIN", "RECOVERY")
	total := Row{Fault: "total"}
	for _, r := range v.Rows {
		fmt.Fprintf(w, line, r.Fault, r.Mentions, r.Lost, r.Partial, r.DeadLetters, r.NoEvent, r.Unpaged, r.DupPages, r.DupDecisions, r.CasesTwice, r.ChainLevels, recoveryText(r.Recovery))
		total.Mentions += r.Mentions
		total.Lost += r.Lost
		total.Partial += r.Partial
		total.DeadLetters += r.DeadLetters
		total.NoEvent += r.NoEvent
		total.Unpaged += r.Unpaged
		total.DupPages += r.DupPages
		total.DupDecisions += r.DupDecisions
		total.CasesTwice += r.CasesTwice
		total.ChainLevels += r.ChainLevels
		total.Forgotten += r.Forgotten
		total.Recovery = max(total.Recovery, r.Recovery)
	}
	fmt.Fprintf(w, line, total.Fault, total.Mentions, total.Lost, total.Partial, total.DeadLetters, total.NoEvent, total.Unpaged, total.DupPages, total.DupDecisions, total.CasesTwice, total.ChainLevels, recoveryText(total.Recovery))
	fmt.Fprintf(w, "\nNO PART: decided on the join timeout without a score or reach (LOST too if the part never came); DEAD: dead letters of any reason;\n"+
		"NO EVENT: escalations with no case event; UNPAGED: receivers of a fired level never paged; DUP PAGES: per case x episode x round x level x receiver;\n"+
		"CHAIN: chain levels fired by timers; RECOVERY: longest from a fault's start to the decision (page) of a mention in flight or sent during it\n")
	fmt.Fprintf(w, "decisions forgotten by the end of the run: %d\n", total.Forgotten)
	fmt.Fprintf(w, "pages repeated under the same Idempotency-Key to receivers that drop them (allowed): %d\n", v.SameKeyRepeats)
	fmt.Fprintf(w, "dead letters: %d, without a Firebreak-Dead-Reason: %d\n", v.DeadLetters, v.Unexplained)
	reasons := slices.Collect(maps.Keys(v.Reasons))
	slices.SortFunc(reasons, func(a, b string) int { return cmp.Or(v.Reasons[b]-v.Reasons[a], strings.Compare(a, b)) })
	for _, r := range reasons[:min(len(reasons), 8)] {
		fmt.Fprintf(w, "  %5d  %s\n", v.Reasons[r], r)
	}
	for _, r := range v.Rows {
		if len(r.Notes) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s: %d findings\n", r.Fault, len(r.Notes))
		for _, n := range r.Notes[:min(len(r.Notes), 10)] {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
}

func recoveryText(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(100 * time.Millisecond).String()
}
