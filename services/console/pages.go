package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/console/queue"
	"github.com/firebreak/firebreak/services/console/signin"
	"github.com/firebreak/firebreak/services/console/view"
	"github.com/firebreak/firebreak/services/platform/auth"
)

// Bounds on what a request may ask, checked before any work.
const (
	maxCaseIDLength = 100
	maxFilterLength = 200
	maxNoteLength   = 2000
	// decisionFetches bounds the mention decisions read at once for a case.
	decisionFetches = 16
)

// pageData is what every page's template gets.
type pageData struct {
	Title  string
	Nav    string
	Person signin.Person
	Local  bool
	CSRF   string
	Now    time.Time
	Flash  string
	Error  string

	Queue    *queueView
	Insights *insightsView
	Policy   *policyView
	// SignOut is offered to people who signed in at the identity provider.
	SignOut bool

	File            *view.File
	CanAct          bool
	WhyNot          string
	LiveURL         string
	FragmentURL     string
	DeliveriesError string
}

func (s *Service) page(r *http.Request, title, nav string) *pageData {
	p, _ := signin.From(r)
	d := &pageData{Title: title, Nav: nav, Person: p, Local: p.Method == "local", CSRF: signin.Token(r), Now: s.clock.Now(),
		SignOut: p.Method != "" && p.Method != "local"}
	if r.URL.Query().Get(signin.ExpiredParam) != "" {
		d.Error = "Your session had ended, so nothing was changed. You are signed in again: do it once more."
	}
	return d
}

func (s *Service) render(w http.ResponseWriter, r *http.Request, status int, name, fragment string, data *pageData) {
	if err := s.pages.Render(w, status, name, fragment, data); err != nil {
		s.d.Tel.Logger.ErrorContext(r.Context(), "render page", "page", name, "err", err)
	}
}

// fail shows an error page.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", "", s.page(r, msg, ""))
}

// queueView is the queue page's data.
type queueView struct {
	Cases    []*fbv1.Case
	Total    int
	Breached int
	Counts   []count
	Handle   string
	Selects  []selectView
	From, To int
	Filtered bool
	Resolved bool
	Paused   string

	PrevURL, NextURL, FragmentURL, EventsURL string
}

type count struct {
	N     int
	Label string
}

type selectView struct {
	Name, Label string
	Options     []option
}

type option struct {
	Value, Label string
	Selected     bool
}

// Filter vocabularies: the words in the URL and what they select.
var (
	platforms = []enumWord[fbv1.Platform]{{"x", fbv1.Platform_PLATFORM_X}, {"mastodon", fbv1.Platform_PLATFORM_MASTODON},
		{"bluesky", fbv1.Platform_PLATFORM_BLUESKY}, {"other", fbv1.Platform_PLATFORM_GENERIC}}
	priorities = []enumWord[fbv1.Priority]{{"critical", fbv1.Priority_PRIORITY_CRITICAL}, {"high", fbv1.Priority_PRIORITY_HIGH},
		{"normal", fbv1.Priority_PRIORITY_NORMAL}, {"low", fbv1.Priority_PRIORITY_LOW}}
	states = []enumWord[fbv1.CaseState]{{"open", fbv1.CaseState_CASE_STATE_OPEN}, {"acknowledged", fbv1.CaseState_CASE_STATE_ACKNOWLEDGED},
		{"resolved", fbv1.CaseState_CASE_STATE_RESOLVED}}
	tiers = []enumWord[fbv1.Tier]{{"rival", fbv1.Tier_TIER_RIVAL}, {"high", fbv1.Tier_TIER_HIGH},
		{"medium", fbv1.Tier_TIER_MEDIUM}, {"low", fbv1.Tier_TIER_LOW}}
)

type enumWord[E comparable] struct {
	word  string
	value E
}

func lookup[E comparable](words []enumWord[E], w string) (E, bool) {
	var zero E
	if w == "" {
		return zero, true
	}
	for _, x := range words {
		if x.word == w {
			return x.value, true
		}
	}
	return zero, false
}

func enumSelect[E comparable](name, label, any string, words []enumWord[E], current string) selectView {
	sv := selectView{Name: name, Label: label, Options: []option{{Value: "", Label: any, Selected: current == ""}}}
	for _, x := range words {
		sv.Options = append(sv.Options, option{Value: x.word, Label: x.word, Selected: x.word == current})
	}
	return sv
}

func valuesSelect(name, label, any string, values []string, current string) selectView {
	sv := selectView{Name: name, Label: label, Options: []option{{Value: "", Label: any, Selected: current == ""}}}
	found := current == ""
	for _, v := range values {
		sv.Options = append(sv.Options, option{Value: v, Label: v, Selected: v == current})
		found = found || v == current
	}
	if !found {
		sv.Options = append(sv.Options, option{Value: current, Label: current, Selected: true})
	}
	return sv
}

// filterKeys are the queue's query parameters, in the order links repeat them.
var filterKeys = []string{"q", "team", "brand", "platform", "priority", "state", "tier", "taken"}

// queueQuery reads the queue's filters from the URL.
func queueQuery(v url.Values) (queue.Query, string, error) {
	for _, k := range append(filterKeys, "page") {
		if len(v.Get(k)) > maxFilterLength {
			return queue.Query{}, "", errors.New("a filter is longer than " + strconv.Itoa(maxFilterLength) + " characters")
		}
	}
	q := queue.Query{Team: v.Get("team"), Brand: v.Get("brand"), TakenBy: v.Get("taken"), Handle: v.Get("q"), Limit: queue.DefaultLimit}
	var ok [4]bool
	q.Platform, ok[0] = lookup(platforms, v.Get("platform"))
	q.Priority, ok[1] = lookup(priorities, v.Get("priority"))
	q.State, ok[2] = lookup(states, v.Get("state"))
	q.Tier, ok[3] = lookup(tiers, v.Get("tier"))
	for i, name := range []string{"platform", "priority", "state", "tier"} {
		if !ok[i] {
			return queue.Query{}, "", errors.New("unknown " + name + " " + strconv.Quote(v.Get(name)))
		}
	}
	if p := v.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100_000 {
			return queue.Query{}, "", errors.New("page must be a number from 1")
		}
		q.Offset = (n - 1) * q.Limit
	}
	return q, v.Get("after"), nil
}

// filterValues keeps only the filters that are set, for links.
func filterValues(v url.Values) url.Values {
	out := url.Values{}
	for _, k := range filterKeys {
		if x := v.Get(k); x != "" {
			out.Set(k, x)
		}
	}
	return out
}

func withParam(v url.Values, key, value string) string {
	c := url.Values{}
	for k, x := range v {
		c[k] = x
	}
	c.Set(key, value)
	return c.Encode()
}

// queuePage is the queue: unresolved cases by priority and age, or with
// state=resolved the recently resolved ones from escalation.
func (s *Service) queuePage(w http.ResponseWriter, r *http.Request) {
	values := r.URL.Query()
	q, after, err := queueQuery(values)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "That filter cannot be used: "+err.Error())
		return
	}
	filters := filterValues(values)
	data := s.page(r, "Queue", "queue")
	qv := &queueView{Handle: q.Handle, Filtered: len(filters) > 0, Paused: s.watch.status(),
		FragmentURL: "/?" + withParam(values, "fragment", "rows"), EventsURL: "/events"}
	var facets queue.Facets
	if q.State == fbv1.CaseState_CASE_STATE_RESOLVED {
		facets, err = s.resolvedQueue(r.Context(), qv, q, after, filters)
		if err != nil {
			s.fail(w, r, http.StatusServiceUnavailable, err.Error())
			return
		}
	} else {
		p := s.board.Find(q)
		facets = p.Facets
		qv.Cases, qv.Total, qv.Breached = p.Cases, p.Total, p.Breached
		for _, pr := range priorities {
			if n := p.Counts[pr.value]; n > 0 {
				qv.Counts = append(qv.Counts, count{N: n, Label: pr.word})
			}
		}
		if len(p.Cases) > 0 {
			qv.From, qv.To = p.Offset+1, p.Offset+len(p.Cases)
		}
		page := p.Offset/queue.DefaultLimit + 1
		if page > 1 {
			qv.PrevURL = "/?" + withParam(filters, "page", strconv.Itoa(page-1))
		}
		if qv.To < p.Total {
			qv.NextURL = "/?" + withParam(filters, "page", strconv.Itoa(page+1))
		}
	}
	qv.Selects = []selectView{
		valuesSelect("team", "Team", "any team", facets.Teams, q.Team),
		valuesSelect("brand", "Brand", "any brand", facets.Brands, q.Brand),
		enumSelect("platform", "Platform", "any platform", platforms, values.Get("platform")),
		enumSelect("priority", "Priority", "any priority", priorities, values.Get("priority")),
		enumSelect("state", "State", "open or acknowledged", states, values.Get("state")),
		enumSelect("tier", "Reach tier", "any reach", tiers, values.Get("tier")),
		valuesSelect("taken", "Taken by", "anyone or no one", facets.TakenBy, q.TakenBy),
	}
	data.Queue = qv
	fragment := ""
	if values.Get("fragment") == "rows" {
		fragment = "rows"
	}
	s.render(w, r, http.StatusOK, "queue", fragment, data)
}

// resolvedQueue lists a page of resolved cases from escalation, which
// filters by team, brand and priority; the console applies the rest to
// that page.
func (s *Service) resolvedQueue(ctx context.Context, qv *queueView, q queue.Query, after string, filters url.Values) (queue.Facets, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	resp, err := s.escalation.ListCases(ctx, &fbv1.ListCasesRequest{State: fbv1.CaseState_CASE_STATE_RESOLVED,
		Team: q.Team, Brand: q.Brand, Priority: q.Priority, PageSize: queue.DefaultLimit, PageToken: after}, s.calls)
	if err != nil {
		return queue.Facets{}, errors.New("Resolved cases cannot be listed: " + callError(err))
	}
	q.State = fbv1.CaseState_CASE_STATE_RESOLVED
	teams, brands, takers := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, c := range resp.Cases {
		teams[c.Team], brands[c.Brand], takers[c.AcknowledgedBy] = true, true, true
		if q.Matches(c) {
			qv.Cases = append(qv.Cases, c)
		}
	}
	qv.Resolved, qv.Total = true, len(qv.Cases)
	if qv.Total > 0 {
		qv.From, qv.To = 1, qv.Total
	}
	if resp.NextPageToken != "" {
		qv.NextURL = "/?" + withParam(filters, "after", resp.NextPageToken)
	}
	if after != "" {
		qv.PrevURL = "/?" + filters.Encode()
	}
	return queue.NewFacets(teams, brands, takers), nil
}

// validCaseID accepts what escalation's ids look like (TAG-N) and nothing
// long or odd, before any call is made.
func validCaseID(id string) bool {
	if id == "" || len(id) > maxCaseIDLength {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// casePage shows one case with everything known about it.
func (s *Service) casePage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validCaseID(id) {
		s.fail(w, r, http.StatusBadRequest, "That is not a case id; case ids look like 0e1a78f95c319d77-1.")
		return
	}
	data := s.page(r, "Case "+id, "queue")
	switch r.URL.Query().Get("done") {
	case "acknowledged":
		data.Flash = "You acknowledged this case; the chain is stopped."
	case "resolved":
		data.Flash = "You resolved this case."
	case "assigned":
		data.Flash = "The case is assigned."
	case "reopened":
		data.Flash = "You reopened this case; its chain starts over."
	case "snoozed":
		data.Flash = "You snoozed this case; no level fires until the snooze ends."
	case "unsnoozed":
		data.Flash = "The snooze is over; the chain goes on."
	}
	fragment := ""
	if r.URL.Query().Get("fragment") == "body" {
		fragment = "body"
	}
	s.showCase(w, r, id, data, http.StatusOK, fragment)
}

// showCase reads a case and what belongs with it and draws the page.
func (s *Service) showCase(w http.ResponseWriter, r *http.Request, id string, data *pageData, code int, fragment string) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	resp, err := s.escalation.GetCase(ctx, &fbv1.GetCaseRequest{Id: id}, s.calls)
	if err != nil {
		switch status.Code(err) {
		case codes.NotFound:
			s.fail(w, r, http.StatusNotFound, "There is no case "+id+".")
		case codes.InvalidArgument:
			s.fail(w, r, http.StatusBadRequest, "That is not a case id: "+callError(err))
		default:
			s.fail(w, r, http.StatusServiceUnavailable, "The case cannot be read now: "+callError(err))
		}
		return
	}
	c := resp.Case
	var (
		wg         sync.WaitGroup
		deliveries []*fbv1.Delivery
		delivErr   error
	)
	wg.Go(func() {
		var d *fbv1.ListDeliveriesResponse
		d, delivErr = s.notifier.ListDeliveries(ctx, &fbv1.ListDeliveriesRequest{CaseId: id}, s.calls)
		deliveries = d.GetDeliveries()
	})
	decisions := s.decisions(ctx, c.MentionIds)
	wg.Wait()
	if delivErr != nil {
		data.DeliveriesError = "Deliveries cannot be read from the notifier now: " + callError(delivErr)
	}
	file := view.Build(c, resp.Timeline, decisions, deliveries, data.Now)
	file.LinkTraces(s.cfg.TraceURLTemplate)
	data.File = &file
	data.Title = "@" + c.GetAuthor().GetHandle() + " · " + c.Brand
	data.CanAct = data.Person.Can(signin.Responder)
	if !data.CanAct {
		data.WhyNot = data.Person.Why(signin.Responder) + "."
	}
	data.LiveURL = "/events?case=" + url.QueryEscape(id)
	data.FragmentURL = "/cases/" + url.PathEscape(id) + "?fragment=body"
	s.render(w, r, code, "case", fragment, data)
}

// decisions reads the decision of each mention, a few at a time; a
// decision that has expired is left out.
func (s *Service) decisions(ctx context.Context, ids []string) map[string]*fbv1.Decision {
	var (
		mu  sync.Mutex
		out = make(map[string]*fbv1.Decision, len(ids))
		sem = make(chan struct{}, decisionFetches)
		wg  sync.WaitGroup
	)
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			resp, err := s.escalation.ExplainDecision(ctx, &fbv1.ExplainDecisionRequest{MentionId: id}, s.calls)
			if err != nil {
				return
			}
			mu.Lock()
			out[id] = resp.Decision
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// acknowledge takes the case in the signed-in person's name.
func (s *Service) acknowledge(w http.ResponseWriter, r *http.Request) {
	s.act(w, r, "acknowledged", func(ctx context.Context, id string, as grpc.CallOption, note string) error {
		_, err := s.escalation.AcknowledgeCase(ctx, &fbv1.AcknowledgeCaseRequest{Id: id, Note: note}, as)
		return err
	})
}

// resolve closes the case in the signed-in person's name, with their note.
func (s *Service) resolve(w http.ResponseWriter, r *http.Request) {
	s.act(w, r, "resolved", func(ctx context.Context, id string, as grpc.CallOption, note string) error {
		_, err := s.escalation.ResolveCase(ctx, &fbv1.ResolveCaseRequest{Id: id, Note: note}, as)
		return err
	})
}

// assign gives the case to the signed-in person ("to=me") or to a named
// person ("to=name" with the name in "assignee").
func (s *Service) assign(w http.ResponseWriter, r *http.Request) {
	s.act(w, r, "assigned", func(ctx context.Context, id string, as grpc.CallOption, note string) error {
		assignee := ""
		if r.PostFormValue("to") != "me" {
			assignee = strings.TrimSpace(r.PostFormValue("assignee"))
			if assignee == "" {
				return formError("name the person to assign the case to, or use Assign to me")
			}
		}
		// An empty assignee is whoever escalation authenticates: the
		// signed-in person, whose credentials the call carries.
		_, err := s.escalation.AssignCase(ctx, &fbv1.AssignCaseRequest{Id: id, Assignee: assignee, Note: note}, as)
		return err
	})
}

// reopen opens a resolved case again; its chain starts over.
func (s *Service) reopen(w http.ResponseWriter, r *http.Request) {
	s.act(w, r, "reopened", func(ctx context.Context, id string, as grpc.CallOption, note string) error {
		_, err := s.escalation.ReopenCase(ctx, &fbv1.ReopenCaseRequest{Id: id, Note: note}, as)
		return err
	})
}

// snooze pauses the case's chain for the chosen time: "for" is 1h, 4h or
// custom, with the custom time in "custom" (90m, 2h30m, or minutes).
func (s *Service) snooze(w http.ResponseWriter, r *http.Request) {
	s.act(w, r, "snoozed", func(ctx context.Context, id string, as grpc.CallOption, note string) error {
		d, err := snoozeLength(r.PostFormValue("for"), r.PostFormValue("custom"))
		if err != nil {
			return err
		}
		_, err = s.escalation.SnoozeCase(ctx, &fbv1.SnoozeCaseRequest{Id: id, Seconds: int64(d / time.Second), Note: note}, as)
		return err
	})
}

// unsnooze ends a snooze now; the chain resumes.
func (s *Service) unsnooze(w http.ResponseWriter, r *http.Request) {
	s.act(w, r, "unsnoozed", func(ctx context.Context, id string, as grpc.CallOption, note string) error {
		_, err := s.escalation.UnsnoozeCase(ctx, &fbv1.UnsnoozeCaseRequest{Id: id, Note: note}, as)
		return err
	})
}

// snoozeLength reads the snooze form. Its bounds are escalation's to
// check, so they live in one place.
func snoozeLength(choice, custom string) (time.Duration, error) {
	switch choice {
	case "1h":
		return time.Hour, nil
	case "4h":
		return 4 * time.Hour, nil
	case "custom":
		custom = strings.TrimSpace(custom)
		if n, err := strconv.Atoi(custom); err == nil {
			return time.Duration(n) * time.Minute, nil
		}
		d, err := time.ParseDuration(custom)
		if err != nil || custom == "" {
			return 0, formError("the snooze time " + strconv.Quote(custom) + " is not a time; write it like 90m, 2h or 2h30m")
		}
		return d, nil
	}
	return 0, formError("choose how long to snooze: 1 hour, 4 hours or a time of your own")
}

// formError is a form filled in wrongly; nothing was asked of escalation.
type formError string

func (e formError) Error() string { return string(e) }

// act runs a change to a case for a responder and shows the case again:
// after a redirect when it worked, with the reason when it did not.
func (s *Service) act(w http.ResponseWriter, r *http.Request, done string, change func(ctx context.Context, id string, as grpc.CallOption, note string) error) {
	id := r.PathValue("id")
	if !validCaseID(id) {
		s.fail(w, r, http.StatusBadRequest, "That is not a case id; case ids look like 0e1a78f95c319d77-1.")
		return
	}
	person, _ := signin.From(r)
	if !person.Can(signin.Responder) {
		data := s.page(r, "Case "+id, "queue")
		data.Error = "Nothing was changed: " + person.Why(signin.Responder) + "."
		s.showCase(w, r, id, data, http.StatusForbidden, "")
		return
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if n := utf8.RuneCountInString(note); n > maxNoteLength {
		data := s.page(r, "Case "+id, "queue")
		data.Error = "Nothing was changed: the note is " + strconv.Itoa(n) + " characters; shorten it to " + strconv.Itoa(maxNoteLength) + "."
		s.showCase(w, r, id, data, http.StatusBadRequest, "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	if err := change(ctx, id, s.credentials(r), note); err != nil {
		data := s.page(r, "Case "+id, "queue")
		data.Error = "Nothing was changed: " + callError(err)
		code := http.StatusServiceUnavailable
		var bad formError
		switch {
		case errors.As(err, &bad):
			code = http.StatusBadRequest
		case status.Code(err) == codes.FailedPrecondition, status.Code(err) == codes.Aborted:
			code = http.StatusConflict
		case status.Code(err) == codes.NotFound:
			code = http.StatusNotFound
		case status.Code(err) == codes.InvalidArgument:
			code = http.StatusBadRequest
		case status.Code(err) == codes.PermissionDenied, status.Code(err) == codes.Unauthenticated:
			code = http.StatusForbidden
		}
		s.showCase(w, r, id, data, code, "")
		return
	}
	http.Redirect(w, r, "/cases/"+url.PathEscape(id)+"?done="+done+"#timeline", http.StatusSeeOther)
}

// credentials are what a person's action is made with: escalation records
// whoever they name as the actor. With an identity provider that is the
// person's own ID token; in local mode the console's key, which is the
// local account's.
func (s *Service) credentials(r *http.Request) grpc.CallOption {
	if token := signin.Credential(r); token != "" {
		return grpc.PerRPCCredentials(auth.Token(token))
	}
	return s.calls
}

// callError is a failed call's message for people, without the gRPC
// wrapping.
func callError(err error) string {
	if st, ok := status.FromError(err); ok {
		msg := st.Message()
		if st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded {
			msg = "the service did not answer (" + msg + "); try again in a moment"
		}
		return msg
	}
	return err.Error()
}

// signOut ends the session in this browser. In local mode there is nobody
// else to be, so it only says so.
func (s *Service) signOut(w http.ResponseWriter, r *http.Request) {
	person, _ := signin.From(r)
	if person.Method == "local" {
		data := s.page(r, "Local mode", "")
		data.Flash = "Local mode has no sign-out: whoever opens this console is " + person.Name + "."
		s.render(w, r, http.StatusOK, "error", "", data)
		return
	}
	s.gate.SignOut(w)
	data := &pageData{Title: "Signed out", Now: s.clock.Now(), Flash: "You are signed out of the console in this browser."}
	s.render(w, r, http.StatusOK, "error", "", data)
}
