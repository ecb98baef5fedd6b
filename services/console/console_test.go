package console

import (
	"bufio"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

func TestMentionTextAndHandlesAreShownAsText(t *testing.T) {
	fake := newCases()
	c := storyCase("hostile-1")
	c.Author.Handle = `"><img src=x onerror=alert(1)>`
	c.Texts = []string{`<script>alert("pwned")</script> still down`}
	c.MentionUrls["x:1001"] = "javascript:alert(1)"
	c.Reasons[0].Text = `<b>bold</b>`
	fake.put(c, fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	con := start(t, "admin", fake)

	_, page, _ := con.get(t, "/cases/hostile-1")
	for _, raw := range []string{"<script>alert", "<img src=x", "<b>bold</b>", "javascript:alert"} {
		if strings.Contains(page, raw) {
			t.Errorf("case page carries %q unescaped", raw)
		}
	}
	contains(t, page, "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; still down", "&lt;b&gt;bold&lt;/b&gt;")
	_, queue, _ := con.get(t, "/")
	if strings.Contains(queue, "<img src=x") {
		t.Error("queue carries the handle unescaped")
	}
}

func TestEveryPageCarriesStrictSecurityHeaders(t *testing.T) {
	fake := newCases()
	fake.put(storyCase("c-1"), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	con := start(t, "admin", fake)
	for _, path := range []string{"/", "/cases/c-1", "/cases/missing-1", "/static/style.css"} {
		_, _, h := con.get(t, path)
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
}

func TestAcknowledgeAndResolveAreRecordedWithTheSignedInPerson(t *testing.T) {
	fake := newCases()
	fake.put(storyCase("c-1"), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	con := start(t, "responder", fake)

	_, page, _ := con.get(t, "/cases/c-1")
	contains(t, page, "Local mode", "@dan", "332,000 followers, 1.6 times the brand&#39;s 203,000", "rival",
		`href="https://x.com/dan/status/1001"`, "author has 332,000 followers", "my broadband has been down")
	tok := token(t, page)

	code, _, h := con.post(t, "/cases/c-1/acknowledge", url.Values{"csrf": {tok}, "note": {"calling him now"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/cases/c-1?done=acknowledged") {
		t.Fatalf("acknowledge: %d to %q", code, h.Get("Location"))
	}
	_, page, _ = con.get(t, h.Get("Location"))
	contains(t, page, "You acknowledged this case", `<span class="actor">ana</span>`, "calling him now")

	code, _, _ = con.post(t, "/cases/c-1/resolve", url.Values{"csrf": {tok}, "note": {"engineer booked"}})
	if code != http.StatusSeeOther {
		t.Fatalf("resolve: %d", code)
	}
	acted := fake.acted()
	if len(acted) != 2 || !strings.Contains(acted[0], "by ana: calling him now") || !strings.Contains(acted[1], "by ana: engineer booked") {
		t.Fatalf("escalation was asked %v", acted)
	}
	// Resolving twice is refused by escalation, and the page says why.
	code, page, _ = con.post(t, "/cases/c-1/resolve", url.Values{"csrf": {tok}})
	if code != http.StatusConflict || !strings.Contains(page, "Nothing was changed") {
		t.Fatalf("second resolve: %d", code)
	}
}

func TestFormsWithoutTheSessionTokenOrFromAnotherSiteChangeNothing(t *testing.T) {
	fake := newCases()
	fake.put(storyCase("c-1"), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	con := start(t, "admin", fake)
	_, page, _ := con.get(t, "/cases/c-1")
	tok := token(t, page)

	if code, _, _ := con.post(t, "/cases/c-1/acknowledge", url.Values{}); code != http.StatusForbidden {
		t.Errorf("no token: %d, want 403", code)
	}
	if code, _, _ := con.post(t, "/cases/c-1/acknowledge", url.Values{"csrf": {tok + "x"}}); code != http.StatusForbidden {
		t.Errorf("wrong token: %d, want 403", code)
	}
	// Another session's token is not this one's.
	other := start(t, "admin", fake)
	_, otherPage, _ := other.get(t, "/cases/c-1")
	if code, _, _ := con.post(t, "/cases/c-1/acknowledge", url.Values{"csrf": {token(t, otherPage)}}); code != http.StatusForbidden {
		t.Errorf("another session's token: %d, want 403", code)
	}
	req, _ := http.NewRequest(http.MethodPost, con.base+"/cases/c-1/acknowledge", strings.NewReader(url.Values{"csrf": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := con.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site form: %d, want 403", resp.StatusCode)
	}
	if acted := fake.acted(); len(acted) != 0 {
		t.Fatalf("refused forms changed cases: %v", acted)
	}
}

func TestViewerSeesTheButtonsDisabledWithAReasonAndCannotAct(t *testing.T) {
	fake := newCases()
	fake.put(storyCase("c-1"), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	con := start(t, "viewer", fake)
	_, page, _ := con.get(t, "/cases/c-1")
	contains(t, page, "ana is signed in as a viewer; this needs a responder", `value="acknowledge" disabled`, `value="resolve" disabled`)
	code, page, _ := con.post(t, "/cases/c-1/acknowledge", url.Values{"csrf": {token(t, page)}})
	if code != http.StatusForbidden || !strings.Contains(page, "Nothing was changed") {
		t.Fatalf("viewer's acknowledge: %d", code)
	}
	if acted := fake.acted(); len(acted) != 0 {
		t.Fatalf("a viewer changed a case: %v", acted)
	}
}

func TestQueueFiltersAndRefusesUnknownOnes(t *testing.T) {
	fake := newCases()
	fake.put(storyCase("c-1"), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	other := storyCase("c-2")
	other.Brand, other.Author.Handle, other.Priority = "globex", "eve", fbv1.Priority_PRIORITY_NORMAL
	fake.put(other, fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	con := start(t, "admin", fake)
	testkit.Eventually(t, "both cases on the board", func() bool { return con.svc.board.Len() == 2 })

	_, page, _ := con.get(t, "/?brand=globex")
	if !strings.Contains(page, "@eve") || strings.Contains(page, "@dan") {
		t.Errorf("brand filter: eve %v, dan %v", strings.Contains(page, "@eve"), strings.Contains(page, "@dan"))
	}
	_, page, _ = con.get(t, "/?q=DAN&priority=critical")
	if !strings.Contains(page, "@dan") || strings.Contains(page, "@eve") {
		t.Error("search by handle and priority")
	}
	if code, _, _ := con.get(t, "/?priority=urgent"); code != http.StatusBadRequest {
		t.Errorf("unknown priority: %d, want 400", code)
	}
	if code, _, _ := con.get(t, "/?q="+strings.Repeat("a", 500)); code != http.StatusBadRequest {
		t.Errorf("a 500-character search: %d, want 400", code)
	}
	if code, _, _ := con.get(t, "/cases/nope-1"); code != http.StatusNotFound {
		t.Errorf("unknown case: %d, want 404", code)
	}
	if code, _, _ := con.get(t, "/cases/%3Cscript%3E"); code != http.StatusBadRequest {
		t.Errorf("odd case id: %d, want 400", code)
	}
}

func TestANewCaseReachesAnOpenQueueWithoutAReload(t *testing.T) {
	fake := newCases()
	con := start(t, "admin", fake)
	resp, err := con.client.Get(con.base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events content type %q", ct)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// The stream is open once its first line arrives; then a case opens.
	select {
	case <-lines:
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream sent nothing")
	}
	fake.put(storyCase("live-1"), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	deadline := time.After(5 * time.Second)
	for changed := false; !changed; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the event stream ended")
			}
			changed = l == "event: changed"
		case <-deadline:
			t.Fatal("no change event after a case opened")
		}
	}
	_, rows, _ := con.get(t, "/?fragment=rows")
	if !strings.Contains(rows, `href="/cases/live-1"`) || strings.Contains(rows, "<html") {
		t.Fatalf("the live fragment does not show the new case alone:\n%s", rows)
	}
}

func TestAssignSnoozeAndReopenAreRecordedWithTheSignedInPerson(t *testing.T) {
	fake := newCases()
	fake.put(storyCase("c-1"), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	con := start(t, "responder", fake)
	_, page, _ := con.get(t, "/cases/c-1")
	contains(t, page, "Assign to me", `name="for" value="1h"`, `name="for" value="4h"`, `name="for" value="custom"`)
	tok := token(t, page)
	steps := []struct {
		path string
		form url.Values
		done string
	}{
		{"/cases/c-1/assign", url.Values{"to": {"me"}}, "assigned"},
		{"/cases/c-1/assign", url.Values{"to": {"name"}, "assignee": {"Ben Okafor"}, "note": {"he knows the area"}}, "assigned"},
		{"/cases/c-1/snooze", url.Values{"for": {"custom"}, "custom": {"90m"}, "note": {"engineer on the way"}}, "snoozed"},
	}
	for _, s := range steps {
		s.form.Set("csrf", tok)
		code, _, h := con.post(t, s.path, s.form)
		if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/cases/c-1?done="+s.done) {
			t.Fatalf("%s %v: %d to %q", s.path, s.form, code, h.Get("Location"))
		}
	}
	_, page, _ = con.get(t, "/cases/c-1?done=snoozed")
	// The snooze shows as a timer on the case, with the way to end it.
	contains(t, page, "You snoozed this case", `id="snooze-timer"`, "chain paused until", "in 1h 29m", "End the snooze now",
		`assigned to <strong id="assignee">Ben Okafor</strong>`, `<span class="actor">ana</span>`, "engineer on the way")
	want := []string{"CASE_EVENT_TYPE_ASSIGNED c-1 by ana: ", "CASE_EVENT_TYPE_ASSIGNED c-1 by ana: he knows the area", "CASE_EVENT_TYPE_SNOOZED c-1 by ana: engineer on the way"}
	if acted := fake.acted(); !slices.Equal(acted, want) {
		t.Fatalf("escalation was asked %v, want %v", acted, want)
	}
	if c := fake.byID["c-1"]; c.Assignee != "Ben Okafor" || c.SnoozedBy != "ana" {
		t.Fatalf("case assigned to %q, snoozed by %q", c.Assignee, c.SnoozedBy)
	}
	code, _, h := con.post(t, "/cases/c-1/unsnooze", url.Values{"csrf": {tok}})
	if code != http.StatusSeeOther {
		t.Fatalf("unsnooze: %d", code)
	}
	// Reopening an open case is refused by escalation; the page says why.
	code, page, _ = con.post(t, "/cases/c-1/reopen", url.Values{"csrf": {tok}})
	if code != http.StatusConflict || !strings.Contains(page, "Nothing was changed: case c-1 is open; only resolved cases can be reopened") {
		t.Fatalf("reopen of an open case: %d", code)
	}
	if code, _, _ := con.post(t, "/cases/c-1/resolve", url.Values{"csrf": {tok}}); code != http.StatusSeeOther {
		t.Fatalf("resolve: %d", code)
	}
	_, page, _ = con.get(t, h.Get("Location"))
	contains(t, page, `value="reopen"`)
	if code, _, h = con.post(t, "/cases/c-1/reopen", url.Values{"csrf": {tok}, "note": {"he wrote again"}}); code != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=reopened") {
		t.Fatalf("reopen: %d to %q", code, h.Get("Location"))
	}
}

func TestBadActionInputIsRefusedWithTheReasonAndChangesNothing(t *testing.T) {
	fake := newCases()
	fake.put(storyCase("c-1"), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	con := start(t, "responder", fake)
	_, page, _ := con.get(t, "/cases/c-1")
	tok := token(t, page)
	for _, c := range []struct {
		path string
		form url.Values
		says string
	}{
		{"/cases/c-1/assign", url.Values{"to": {"name"}, "assignee": {"  "}}, "name the person to assign the case to"},
		{"/cases/c-1/snooze", url.Values{"for": {"custom"}, "custom": {"soon"}}, "is not a time; write it like 90m"},
		{"/cases/c-1/snooze", url.Values{"for": {"custom"}, "custom": {"0"}}, "out of bounds"},
		{"/cases/c-1/snooze", url.Values{"for": {"custom"}, "custom": {"200h"}}, "out of bounds"},
		{"/cases/c-1/snooze", url.Values{"for": {"1y"}}, "choose how long to snooze"},
	} {
		c.form.Set("csrf", tok)
		code, page, _ := con.post(t, c.path, c.form)
		if code != http.StatusBadRequest || !strings.Contains(page, "Nothing was changed") || !strings.Contains(page, c.says) {
			t.Errorf("%s %v: %d, want 400 saying %q", c.path, c.form, code, c.says)
		}
	}
	if acted := fake.acted(); len(acted) != 0 {
		t.Fatalf("bad input changed the case: %v", acted)
	}
}

func TestViewerSeesAssignSnoozeAndReopenDisabledWithAReason(t *testing.T) {
	fake := newCases()
	fake.put(storyCase("c-1"), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	con := start(t, "viewer", fake)
	_, page, _ := con.get(t, "/cases/c-1")
	contains(t, page, "ana is signed in as a viewer; this needs a responder", `name="to" value="me" disabled`, `name="for" value="1h" disabled`)
	for _, path := range []string{"/cases/c-1/assign", "/cases/c-1/snooze", "/cases/c-1/reopen"} {
		code, body, _ := con.post(t, path, url.Values{"csrf": {token(t, page)}, "to": {"me"}, "for": {"1h"}})
		if code != http.StatusForbidden || !strings.Contains(body, "Nothing was changed") {
			t.Errorf("viewer's %s: %d", path, code)
		}
	}
	if acted := fake.acted(); len(acted) != 0 {
		t.Fatalf("a viewer changed a case: %v", acted)
	}
}

func TestTimelineLinksEachEventToItsTraceWhenATracingURLIsSet(t *testing.T) {
	fake := newCases()
	fake.put(storyCase("traced-1"), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	fake.timelines["traced-1"][0].TraceId = id
	fake.put(storyCase("forged-1"), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	fake.timelines["forged-1"][0].TraceId = `"><script>alert(1)</script>`

	linked := start(t, "viewer", fake, func(c *Config) { c.TraceURLTemplate = "https://tempo.example.com/trace/{trace_id}" })
	_, page, _ := linked.get(t, "/cases/traced-1")
	contains(t, page, `href="https://tempo.example.com/trace/`+id+`"`)
	if _, forged, _ := linked.get(t, "/cases/forged-1"); strings.Contains(forged, "tempo.example.com") {
		t.Error("a trace id that is not a W3C trace id was put into a link")
	}
	plain := start(t, "viewer", fake)
	if _, page, _ := plain.get(t, "/cases/traced-1"); strings.Contains(page, `class="trace"`) {
		t.Error("the timeline links to a trace though no tracing URL is configured")
	}
}

func TestTraceURLTemplateMustBeAnAbsoluteURLWithTheTraceID(t *testing.T) {
	for tmpl, ok := range map[string]bool{
		"https://tempo.example.com/trace/{trace_id}": true,
		"https://tempo.example.com/trace/":           false,
		"javascript:alert('{trace_id}')":             false,
		"/trace/{trace_id}":                          false,
	} {
		c := Config{EscalationAddr: "e", NotifierAddr: "n", LocalUser: "ana", LocalRole: "admin", Resync: time.Minute, CallTimeout: time.Second, Token: "t", TraceURLTemplate: tmpl}
		err := c.Validate()
		if got := err == nil || !strings.Contains(err.Error(), "trace-url-template"); got != ok {
			t.Errorf("template %q: valid = %v, want %v (%v)", tmpl, got, ok, err)
		}
	}
}
