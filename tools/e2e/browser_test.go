package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/testkit"
	"github.com/firebreak/firebreak/tools/stack"
)

// ScreenshotsDirEnv, when set, is where TestConsoleInABrowser also writes
// its screenshots (`make screenshots` points it at docs/img).
const ScreenshotsDirEnv = "FIREBREAK_SCREENSHOTS_DIR"

// browserWait bounds each wait for something to appear in the browser. It
// is generous: on a loaded two-core machine Chromium, six services and the
// other test packages share the cores.
const browserWait = 45 * time.Second

// TestConsoleInABrowser follows the README story in headless Chromium
// against the console on the in-process stack: the queue is open when the
// complaints arrive, the case appears without a reload, the case page shows
// it all, the local admin acknowledges and resolves it, a viewer cannot act,
// and mention text with a script in it stays text.
func TestConsoleInABrowser(t *testing.T) {
	b := openBrowser(t)
	w := start(t)
	base := "http://" + w.stack.Console.HTTPAddr()

	// 1. The queue is open and following live updates.
	b.do("open the queue", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#queue[data-connected="true"]`)))
	// Note when each case's row first appears, as a person watching would.
	b.do("watch the queue", chromedp.Evaluate[chromedp.Void](`(function () {
		window.firstSeen = {};
		var q = document.getElementById("queue");
		new MutationObserver(function () {
			q.querySelectorAll("tr.case[data-case]").forEach(function (tr) {
				if (!(tr.dataset.case in window.firstSeen)) { window.firstSeen[tr.dataset.case] = Date.now(); }
			});
		}).observe(q, { childList: true, subtree: true });
	})()`))

	// 2. The README's complaints reach ingest, and a hostile one from
	// another author.
	for i, line := range readmeComplaints(t) {
		w.accept(fmt.Sprintf("readme-%d", i+1), line)
	}
	w.post(post{id: "hostile-1", author: "mallory", followers: 500_000,
		text: `@acme <script>window.pwned = true</script><img src=x onerror="window.pwned = true"> broken again, worst service ever`})
	dan := w.decision("x:1001")
	mallory := w.decision("x:hostile-1")
	if !dan.Escalate || !mallory.Escalate {
		t.Fatalf("the story did not escalate: dan %v (%v), mallory %v (%v)", dan.Escalate, dan.Reasons, mallory.Escalate, mallory.Reasons)
	}

	// 3. Both cases appear on the open page without a reload.
	for _, id := range []string{dan.CaseId, mallory.CaseId} {
		b.do("see case "+id+" appear", chromedp.WaitVisible(chromedp.CSS(`tr.case[data-case="`+id+`"] a.open-case`)))
	}
	danCase, _ := w.caseOf(dan.CaseId)
	seen, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`window.firstSeen[`+jsString(dan.CaseId)+`] || 0`))
	if err != nil || seen == 0 {
		t.Fatalf("the queue page never drew case %s by a live update (%v): was it reloaded?", dan.CaseId, err)
	}
	took := time.UnixMilli(int64(seen)).Sub(danCase.OpenedAt.AsTime())
	t.Logf("a new case reached the open queue page %v after the decision that opened it", took.Round(time.Millisecond))
	b.screenshot("console-queue.png")

	// 4. The case page shows the mentions, the reach, the reasons and the
	// links to the posts.
	b.do("open the case", chromedp.Click(chromedp.CSS(`tr.case[data-case="`+dan.CaseId+`"] a.open-case`)),
		chromedp.WaitVisible(chromedp.ID("mentions")))
	mentions := b.count("#mentions li.mention")
	if mentions != 3 {
		t.Errorf("the case page shows %d mentions, want the README's 3", mentions)
	}
	b.contains("#reach", "332,000 followers", "203,000")
	b.contains("#reasons", "author has 332,000 followers, 1.6x the brand's 203,000")
	b.contains("#mentions", "my broadband has been down for 5 days", "Worst service I have ever paid for")
	if href := b.attr(`#mentions a.post`, "href"); href != "https://x.com/dan/status/1001" {
		t.Errorf("the first mention links to %q, want its post https://x.com/dan/status/1001", href)
	}
	b.screenshot("console-case.png")

	// 5. Acknowledge: the timeline names the signed-in person.
	b.do("acknowledge", chromedp.SetValue(chromedp.CSS(`form[action$="/acknowledge"] input[name=note]`), "calling him now"),
		chromedp.Click(chromedp.CSS(`button[value=acknowledge]`)), chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
	b.shows("#state", "acknowledged")
	// The case's own event may re-render the page a moment later (live
	// updates): the timeline is waited for, not read once.
	b.shows("#timeline", "acknowledged by "+stack.LocalAdmin)
	b.shows("#timeline", "calling him now")

	// 6. Resolve with a note.
	b.do("resolve", chromedp.SetValue(chromedp.CSS(`form[action$="/resolve"] textarea[name=note]`), "engineer booked for tomorrow morning"),
		chromedp.Click(chromedp.CSS(`button[value=resolve]`)))
	// The acknowledgement's flash is still up until the page reloads.
	b.shows("#state", "resolved")
	b.shows("#timeline", "resolved by "+stack.LocalAdmin)
	b.shows("#timeline", "engineer booked for tomorrow morning")
	if c, _ := w.caseOf(dan.CaseId); c.State != fbv1.CaseState_CASE_STATE_RESOLVED || c.ResolvedBy != stack.LocalAdmin {
		t.Errorf("escalation has case %s %v by %q, want resolved by %s", c.Id, c.State, c.ResolvedBy, stack.LocalAdmin)
	}

	// The insights count the escalations by reach tier, and an admin tries
	// a mention against the running policy.
	b.do("open the insights", chromedp.Navigate(base+"/insights?days=1"), chromedp.WaitVisible(chromedp.ID("tiers")))
	b.contains("#tiers", "rival", "rival-reach: 4, 2") // dan's three complaints and mallory's one
	b.contains("#brands", "acme: 4 mentions")
	b.screenshot("console-insights.png")
	b.do("try a mention", chromedp.Navigate(base+"/policy"),
		chromedp.SetValue(chromedp.CSS(`form.try textarea[name=text]`), "@acme my broadband has been down for 5 days. Nobody has fixed it."),
		chromedp.Click(chromedp.CSS(`form.try button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("decision")))
	b.contains("#decision", "Escalates by route rival-reach", "author has 332,000 followers, 1.6x the brand's 203,000")
	b.screenshot("console-policy.png")

	// 7. A viewer sees the buttons disabled with the reason, and a form
	// sent anyway changes nothing.
	viewer, stopViewer, err := w.stack.StartConsole(context.Background(), "--local-user=vic", "--local-role=viewer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := stopViewer(ctx); err != nil {
			t.Errorf("stop the viewer's console: %v", err)
		}
	})
	b.do("open mallory's case as a viewer", chromedp.Navigate("http://"+viewer.HTTPAddr()+"/cases/"+mallory.CaseId),
		chromedp.WaitVisible(chromedp.ID("actions")))
	b.contains("#why-disabled", "vic is signed in as a viewer; this needs a responder")
	if n := b.count(`#actions button:disabled`); n < 2 {
		t.Errorf("a viewer sees %d disabled buttons, want acknowledge and resolve disabled", n)
	}
	b.do("send the acknowledge form anyway", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("#actions [disabled]").forEach(function (e) { e.disabled = false; })`),
		chromedp.Click(chromedp.CSS(`button[value=acknowledge]`)), chromedp.WaitVisible(chromedp.CSS(`p.error`)))
	b.contains("p.error", "Nothing was changed")
	if c, _ := w.caseOf(mallory.CaseId); c.State != fbv1.CaseState_CASE_STATE_OPEN {
		t.Errorf("a viewer's form changed case %s to %v", c.Id, c.State)
	}

	// 8. Mention text with markup in it is shown as text and never runs.
	b.contains("#mentions", `<script>window.pwned = true</script><img src=x onerror="window.pwned = true">`)
	if n := b.count("#mentions script, #mentions img"); n != 0 {
		t.Errorf("the mention's markup became %d elements on the page", n)
	}
	if pwned, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.pwned === true`)); pwned {
		t.Error("the mention's script ran")
	}
}

// browser is one headless Chromium tab for a test.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// openBrowser starts Debian's Chromium, headless, with a profile of its
// own. Without Chromium the test fails and says how to install it.
func openBrowser(t *testing.T) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("the console's browser test needs Chromium, which is not installed: apt-get install chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The first action starts the browser; it must not run under a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	return &browser{t: t, ctx: ctx}
}

// do runs steps, each wait bounded by browserWait, and fails the test with
// what it was doing.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v (page: %s)", what, err, b.text("body"))
	}
}

// text is the visible text of the first element matching sel ("" if none).
func (b *browser) text(sel string) string {
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function () { var e = document.querySelector(`+jsString(sel)+`); return e ? e.innerText : ""; })()`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// shows waits until the text of sel holds want: a page reloading after a
// form was sent shows the new state only once it has loaded.
func (b *browser) shows(sel, want string) {
	b.t.Helper()
	testkit.Eventually(b.t, sel+" to show "+want, func() bool { return strings.Contains(b.text(sel), want) })
}

// contains fails the test unless the text of sel holds every want.
func (b *browser) contains(sel string, want ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, w := range want {
		if !strings.Contains(got, w) {
			b.t.Errorf("%s does not show %q; it shows:\n%s", sel, w, got)
		}
	}
}

func (b *browser) count(sel string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
	if err != nil {
		b.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function () { var e = document.querySelector(`+jsString(sel)+`); return e ? (e.getAttribute(`+jsString(name)+`) || "") : ""; })()`))
	if err != nil {
		b.t.Fatalf("read %s of %s: %v", name, sel, err)
	}
	return v
}

// screenshot saves the whole page, as PNG, into the test's artifacts (kept with
// `go test -artifacts`) and, when ScreenshotsDirEnv is set, there too.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{b.t.ArtifactDir()}
	if d := os.Getenv(ScreenshotsDirEnv); d != "" {
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			b.t.Fatalf("save screenshot: %v", err)
		}
	}
	b.t.Logf("screenshot %s saved in %s", name, strings.Join(dirs, " and "))
}

func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// readmeComplaints are the mentions the README's story posts, read from
// the README itself so that the story and the test cannot drift apart.
func readmeComplaints(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.Contains(l, "--data-binary @- <<'EOF'") && lines == nil:
			in = true
		case in && l == "EOF":
			return lines
		case in:
			lines = append(lines, l)
		}
	}
	t.Fatal("README.md has no NDJSON block of complaints (--data-binary @- <<'EOF' ... EOF)")
	return nil
}
