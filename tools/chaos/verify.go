package chaos

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/tools/load"
)

// Row is one line of the result table.
type Row struct {
	Fault        string
	Mentions     int
	Lost         int
	DupDecisions int
	CasesTwice   int
	DupPages     int
	Unpaged      int
	Recovery     time.Duration
	Notes        []string
}

// Verdict is the outcome of the whole run.
type Verdict struct {
	Rows        []Row
	DeadLetters int
	// Unexplained are dead letters without a Firebreak-Dead-Reason.
	Unexplained int
	Reasons     map[string]int
	// SameKeyRepeats are pages accepted more than once under one
	// Idempotency-Key: allowed, since the receiver dedups by key.
	SameKeyRepeats int
	Failures       []string
}

// Decided collects every phase's decisions; call it before a fault that
// wipes them (the Redis restart).
func (s *Suite) Decided(ctx context.Context, runs []PhaseRun) (map[string]load.Decided, error) {
	var ids []string
	for _, r := range runs {
		for _, m := range r.Sent {
			if !m.Accepted.IsZero() && !m.BrandReply {
				ids = append(ids, m.ID())
			}
		}
	}
	return load.Decisions(ctx, s.esc, ids, 20*time.Second)
}

// caseLog is what the cases stream holds about decisions and cases.
type caseLog struct {
	// decisionEvents are the distinct decision-driven events per mention.
	decisionEvents map[string]map[string]bool
	opened         map[string][]string // case -> distinct opened event ids, in stream order
	openedBy       map[string]string   // opened event id -> mention
}

func (s *Suite) readCases(ctx context.Context) (*caseLog, error) {
	log := &caseLog{decisionEvents: map[string]map[string]bool{}, opened: map[string][]string{}, openedBy: map[string]string{}}
	err := s.each(ctx, bus.NounCases, func(msg jetstream.Msg) {
		var e fbv1.CaseEvent
		if proto.Unmarshal(msg.Data(), &e) != nil {
			return
		}
		switch e.Type {
		case fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, fbv1.CaseEventType_CASE_EVENT_TYPE_UPDATED, fbv1.CaseEventType_CASE_EVENT_TYPE_REOPENED:
			if e.MentionId != "" {
				addTo(log.decisionEvents, e.MentionId, e.Id)
			}
		}
		if _, seen := log.openedBy[e.Id]; e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED && !seen {
			log.opened[e.Case.GetId()] = append(log.opened[e.Case.GetId()], e.Id)
			log.openedBy[e.Id] = e.MentionId
		}
	})
	return log, err
}

func addTo(m map[string]map[string]bool, key, id string) {
	if m[key] == nil {
		m[key] = map[string]bool{}
	}
	m[key][id] = true
}

// each calls fn with every message of noun's stream.
func (s *Suite) each(ctx context.Context, noun string, fn func(jetstream.Msg)) error {
	stream, err := s.js.Stream(ctx, s.names.Stream(noun))
	if err != nil {
		return fmt.Errorf("stream %s: %w", noun, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", noun, err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return fmt.Errorf("read %s: %w", noun, err)
	}
	for seen := uint64(0); seen < info.State.Msgs; {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return fmt.Errorf("read %s: %w", noun, err)
		}
		n := 0
		for msg := range batch.Messages() {
			fn(msg)
			n++
		}
		if n == 0 {
			break
		}
		seen += uint64(n)
	}
	return nil
}

// Verify checks every phase against what the system recorded.
func (s *Suite) Verify(ctx context.Context, runs []PhaseRun, decided map[string]load.Decided) (Verdict, error) {
	cl, err := s.readCases(ctx)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Reasons: map[string]int{}}
	pages := s.sink.Pages()
	pagedEvents, dupPageByMention := s.pageStats(pages, cl, &v)
	for _, r := range runs {
		row := Row{Fault: r.Name}
		if len(r.Windows) > 0 {
			row.Fault = r.Name
		}
		for _, m := range r.Sent {
			if m.Accepted.IsZero() {
				row.Lost++
				row.Notes = append(row.Notes, fmt.Sprintf("%s never accepted by ingest: %s", m.ID(), m.Err))
				continue
			}
			if m.BrandReply {
				continue
			}
			row.Mentions++
			if _, ok := decided[m.ID()]; !ok {
				row.Lost++
				row.Notes = append(row.Notes, fmt.Sprintf("%s (author %s) accepted at %s, no decision", m.ID(), m.Author.ID, m.Accepted.Format("15:04:05.000")))
			}
			if n := len(cl.decisionEvents[m.ID()]); n > 1 {
				row.DupDecisions++
				row.Notes = append(row.Notes, fmt.Sprintf("%s decided into %d case events: %v", m.ID(), n, slices.Sorted(maps.Keys(cl.decisionEvents[m.ID()]))))
			}
			row.DupPages += dupPageByMention[m.ID()]
		}
		row.CasesTwice, row.Unpaged = casesOf(r, cl, pagedEvents, &row)
		var slowest string
		row.Recovery, slowest = recovery(r, decided, pages)
		if row.Recovery > 10*time.Second {
			row.Notes = append(row.Notes, fmt.Sprintf("slow recovery (not a failure): %s", slowest))
		}
		v.Rows = append(v.Rows, row)
	}
	if err := s.deadLetters(ctx, &v); err != nil {
		return v, err
	}
	for _, row := range v.Rows {
		if row.Lost+row.DupDecisions+row.CasesTwice+row.DupPages+row.Unpaged > 0 {
			v.Failures = append(v.Failures, row.Fault)
		}
	}
	if v.Unexplained > 0 {
		v.Failures = append(v.Failures, "dead letters without a reason")
	}
	return v, nil
}

// pageStats finds the case events that reached the receiver and, per
// mention, pages that repeat a (case, level, event type) under a different
// Idempotency-Key: true duplicates a receiver's dedup cannot catch.
func (s *Suite) pageStats(pages []load.Page, cl *caseLog, v *Verdict) (map[string]bool, map[string]int) {
	paged := map[string]bool{}
	keysOf := map[string]map[string]int{}
	mentionOf := map[string]string{}
	for _, p := range pages {
		for _, e := range p.Events {
			paged[e.ID] = true
			slot := fmt.Sprintf("%s/level %d/%s", e.Case.ID, e.Level, e.Type)
			if keysOf[slot] == nil {
				keysOf[slot] = map[string]int{}
			}
			keysOf[slot][p.IdempotencyKey]++
			if e.MentionID != "" {
				mentionOf[slot] = e.MentionID
			}
		}
	}
	dups := map[string]int{}
	for slot, keys := range keysOf {
		if len(keys) > 1 {
			dups[mentionOf[slot]] += len(keys) - 1
		}
		for _, n := range keys {
			v.SameKeyRepeats += n - 1
		}
	}
	return paged, dups
}

// casesOf counts the phase's cases opened more than once and its opened
// cases no page reported.
func casesOf(r PhaseRun, cl *caseLog, paged map[string]bool, row *Row) (twice, unpaged int) {
	ours := map[string]bool{}
	for _, m := range r.Sent {
		ours[m.ID()] = true
	}
	for caseID, events := range cl.opened {
		// A case opened twice belongs to the phase that opened it again.
		if !ours[cl.openedBy[events[len(events)-1]]] {
			continue
		}
		if len(events) > 1 {
			twice++
			row.Notes = append(row.Notes, fmt.Sprintf("case %s opened %d times: %v", caseID, len(events), events))
		}
		for _, id := range events {
			if !paged[id] && ours[cl.openedBy[id]] {
				unpaged++
				row.Notes = append(row.Notes, fmt.Sprintf("case %s opened (event %s, mention %s) but never paged", caseID, id, cl.openedBy[id]))
			}
		}
	}
	return twice, unpaged
}

// recovery is, over the phase's fault windows, the longest time from a
// fault to the decision (or, for receiver faults, the page) of a mention
// sent while the system was not whole.
func recovery(r PhaseRun, decided map[string]load.Decided, pages []load.Page) (time.Duration, string) {
	firstPage := map[string]time.Time{}
	for _, p := range pages {
		for _, e := range p.Events {
			if t, ok := firstPage[e.MentionID]; !ok || p.At.Before(t) {
				firstPage[e.MentionID] = p.At
			}
		}
	}
	var worst time.Duration
	var which string
	for _, w := range r.Windows {
		receiver := strings.HasPrefix(w.Fault, "receiver") || strings.Contains(w.Fault, "notifier")
		for _, m := range r.Sent {
			if m.Sent.Before(w.At) || m.Sent.After(w.Restored.Add(time.Second)) {
				continue
			}
			end, what := decided[m.ID()].At, "decided"
			if receiver {
				end, what = firstPage[m.ID()], "paged"
			}
			if !end.IsZero() && end.Sub(w.At) > worst {
				worst = end.Sub(w.At)
				which = fmt.Sprintf("%s at %s: mention %s sent %s, %s %s", w.Fault, w.At.Format("15:04:05.000"), m.ID(),
					m.Sent.Format("15:04:05.000"), what, end.Format("15:04:05.000"))
			}
		}
	}
	return worst, which
}

// deadLetters checks every dead letter carries its reason.
func (s *Suite) deadLetters(ctx context.Context, v *Verdict) error {
	return s.each(ctx, bus.NounDeadLetter, func(msg jetstream.Msg) {
		v.DeadLetters++
		reason := msg.Headers().Get(bus.HeaderDeadReason)
		if reason == "" {
			v.Unexplained++
			return
		}
		if len(reason) > 80 {
			reason = reason[:80]
		}
		v.Reasons[reason]++
	})
}

// Print writes the table and the details of every failure.
func (v Verdict) Print(w io.Writer) {
	fmt.Fprintf(w, "\n%-28s %8s %5s %9s %10s %9s %8s %9s\n", "FAULT", "MENTIONS", "LOST", "DUP DECS", "CASES x2", "DUP PAGES", "UNPAGED", "RECOVERY")
	total := Row{Fault: "total"}
	for _, r := range v.Rows {
		fmt.Fprintf(w, "%-28s %8d %5d %9d %10d %9d %8d %9s\n", r.Fault, r.Mentions, r.Lost, r.DupDecisions, r.CasesTwice, r.DupPages, r.Unpaged, recoveryText(r.Recovery))
		total.Mentions += r.Mentions
		total.Lost += r.Lost
		total.DupDecisions += r.DupDecisions
		total.CasesTwice += r.CasesTwice
		total.DupPages += r.DupPages
		total.Unpaged += r.Unpaged
		total.Recovery = max(total.Recovery, r.Recovery)
	}
	fmt.Fprintf(w, "%-28s %8d %5d %9d %10d %9d %8d %9s\n", total.Fault, total.Mentions, total.Lost, total.DupDecisions, total.CasesTwice, total.DupPages, total.Unpaged, recoveryText(total.Recovery))
	fmt.Fprintf(w, "\npages repeated under the same Idempotency-Key (deduped by the receiver, allowed): %d\n", v.SameKeyRepeats)
	fmt.Fprintf(w, "dead letters: %d, without a Firebreak-Dead-Reason: %d\n", v.DeadLetters, v.Unexplained)
	reasons := slices.Collect(maps.Keys(v.Reasons))
	sort.Slice(reasons, func(i, j int) bool { return v.Reasons[reasons[i]] > v.Reasons[reasons[j]] })
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
