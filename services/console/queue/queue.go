// Package queue is the console's picture of the cases people work on:
// every open and acknowledged case, kept current from escalation's case
// events, filtered, ordered by priority and age, and cut into pages. It is
// a cache rebuilt from escalation at start and on every reconnect, never a
// record of its own, and it does no I/O.
package queue

import (
	"cmp"
	"slices"
	"strings"
	"sync"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Board holds the unresolved cases. It is safe for concurrent use.
type Board struct {
	mu sync.RWMutex
	// seq counts the changes applied, so Load can tell what changed while a
	// listing was being read.
	seq  uint64
	open map[string]entry
	// gone remembers cases resolved since the last Load, so a listing read
	// before their resolution does not bring them back.
	gone map[string]entry
}

type entry struct {
	c   *fbv1.Case
	seq uint64
}

// New returns an empty board.
func New() *Board {
	return &Board{open: map[string]entry{}, gone: map[string]entry{}}
}

// Apply records a case as it is after an event and reports whether the
// board changed. A copy older than the one held is ignored, since events
// and listings race; a resolved case leaves the board.
func (b *Board) Apply(c *fbv1.Case) bool {
	if c.GetId() == "" {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	held, ok := b.open[c.Id]
	if !ok {
		held, ok = b.gone[c.Id]
	}
	if ok && older(c, held.c) {
		return false
	}
	b.seq++
	e := entry{c: c, seq: b.seq}
	if c.State == fbv1.CaseState_CASE_STATE_RESOLVED {
		delete(b.open, c.Id)
		b.gone[c.Id] = e
		return true
	}
	delete(b.gone, c.Id)
	b.open[c.Id] = e
	return true
}

// Mark returns the board's position before a listing is read; pass it to
// Load with the listing.
func (b *Board) Mark() uint64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.seq
}

// Load replaces the board with a full listing of unresolved cases read
// after mark. Changes applied since mark win over the listing where they
// are newer: the listing may have been read before them.
func (b *Board) Load(listing []*fbv1.Case, mark uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	next := make(map[string]entry, len(listing))
	for _, c := range listing {
		if g, ok := b.gone[c.Id]; ok && g.seq > mark && !older(g.c, c) {
			continue
		}
		if c.State != fbv1.CaseState_CASE_STATE_RESOLVED {
			next[c.Id] = entry{c: c}
		}
	}
	for id, e := range b.open {
		if e.seq <= mark {
			continue
		}
		if listed, ok := next[id]; !ok || !older(e.c, listed.c) {
			next[id] = e
		}
	}
	for id, g := range b.gone {
		if g.seq <= mark {
			delete(b.gone, id)
		}
	}
	b.seq++
	b.open = next
}

// Case returns the unresolved case with id, if the board holds it.
func (b *Board) Case(id string) (*fbv1.Case, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	e, ok := b.open[id]
	return e.c, ok
}

// Len is the number of unresolved cases.
func (b *Board) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.open)
}

// older reports whether a is an earlier state of the case than b.
func older(a, b *fbv1.Case) bool {
	at, bt := a.GetUpdatedAt(), b.GetUpdatedAt()
	if at.GetSeconds() != bt.GetSeconds() {
		return at.GetSeconds() < bt.GetSeconds()
	}
	return at.GetNanos() < bt.GetNanos()
}

// Query selects and pages cases. Zero fields match everything.
type Query struct {
	Team     string
	Brand    string
	Platform fbv1.Platform
	Priority fbv1.Priority
	// State is open or acknowledged; zero is both.
	State fbv1.CaseState
	Tier  fbv1.Tier
	// TakenBy is who acknowledged the case.
	TakenBy string
	// Handle matches authors whose handle or name contains it, ignoring case.
	Handle string
	Offset int
	Limit  int
}

// Page is one page of a query's result.
type Page struct {
	Cases []*fbv1.Case
	// Total counts every case the query matched, on all pages.
	Total  int
	Offset int
	// Counts are the matched cases by priority, for the headline.
	Counts map[fbv1.Priority]int
	// Breached counts matched cases past their first-response deadline.
	Breached int
	// Facets are the values present on the board, for the filters' choices.
	Facets Facets
}

// Facets lists the distinct values of the filterable fields.
type Facets struct {
	Teams, Brands, TakenBy []string
}

// DefaultLimit is the page size when a query names none; MaxLimit bounds it.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Find runs q: the matching cases by priority (highest first) and age
// (oldest first), then the page q asks for.
func (b *Board) Find(q Query) Page {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	handle := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(q.Handle), "@"))
	teams, brands, takers := map[string]bool{}, map[string]bool{}, map[string]bool{}

	b.mu.RLock()
	matched := make([]ranked, 0, len(b.open))
	for _, e := range b.open {
		c := e.c
		teams[c.Team], brands[c.Brand] = true, true
		if c.AcknowledgedBy != "" {
			takers[c.AcknowledgedBy] = true
		}
		if q.matches(c, handle) {
			matched = append(matched, rank(c))
		}
	}
	b.mu.RUnlock()

	slices.SortFunc(matched, func(x, y ranked) int {
		if c := cmp.Compare(y.priority, x.priority); c != 0 {
			return c
		}
		if c := cmp.Compare(x.opened, y.opened); c != 0 {
			return c
		}
		return strings.Compare(x.c.Id, y.c.Id)
	})
	p := Page{Total: len(matched), Offset: min(max(q.Offset, 0), len(matched)), Counts: map[fbv1.Priority]int{},
		Facets: NewFacets(teams, brands, takers)}
	for _, r := range matched {
		p.Counts[r.c.Priority]++
		if r.c.Breached {
			p.Breached++
		}
	}
	end := min(p.Offset+limit, len(matched))
	p.Cases = make([]*fbv1.Case, 0, end-p.Offset)
	for _, r := range matched[p.Offset:end] {
		p.Cases = append(p.Cases, r.c)
	}
	return p
}

// Matches reports whether c passes q's filters (all but its page).
func (q Query) Matches(c *fbv1.Case) bool {
	return q.matches(c, strings.ToLower(strings.TrimPrefix(strings.TrimSpace(q.Handle), "@")))
}

func (q Query) matches(c *fbv1.Case, handle string) bool {
	switch {
	case q.Team != "" && c.Team != q.Team,
		q.Brand != "" && c.Brand != q.Brand,
		q.Platform != 0 && c.Platform != q.Platform,
		q.Priority != 0 && c.Priority != q.Priority,
		q.State != 0 && c.State != q.State,
		q.Tier != 0 && c.GetReach().GetTier() != q.Tier,
		q.TakenBy != "" && c.AcknowledgedBy != q.TakenBy:
		return false
	}
	if handle == "" {
		return true
	}
	return containsFold(c.GetAuthor().GetHandle(), handle) || containsFold(c.GetAuthor().GetName(), handle)
}

// containsFold reports whether s contains the lower-case sub, ignoring case.
func containsFold(s, sub string) bool {
	return s != "" && strings.Contains(strings.ToLower(s), sub)
}

// ranked is a case with its sort keys read once.
type ranked struct {
	c        *fbv1.Case
	priority fbv1.Priority
	opened   int64
}

func rank(c *fbv1.Case) ranked {
	o := c.GetOpenedAt()
	return ranked{c: c, priority: c.Priority, opened: o.GetSeconds()*1e9 + int64(o.GetNanos())}
}

// NewFacets lists the filter choices seen in the cases: each set's
// non-empty values, sorted.
func NewFacets(teams, brands, takers map[string]bool) Facets {
	return Facets{Teams: sorted(teams), Brands: sorted(brands), TakenBy: sorted(takers)}
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
