package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// repoRoot is the repository, two levels above this package.
const repoRoot = "../.."

// TestEveryDashboardMetricIsExported runs the stack, pushes the traffic
// the dashboard shows (a case opened, paged, breached, answered,
// acknowledged and resolved, and a message dead-lettered), scrapes every
// service's /metrics and fails on any metric a Grafana panel or an alert
// of the chart's rule file queries that no service exports.
func TestEveryDashboardMetricIsExported(t *testing.T) {
	wanted := dashboardMetrics(t, filepath.Join(repoRoot, "deploy", "grafana", "firebreak.json"))
	for name, where := range alertMetrics(t, filepath.Join(repoRoot, "charts", "firebreak", "rules", "firebreak.rules.yaml")) {
		wanted[name] = append(wanted[name], where...)
	}
	w := startWith(t, map[string][]string{"escalation": {"--policy-file=" + fastReplyPolicy(t)}})

	// A small audience's complaint opens a normal case that pages, then
	// breaches its 3s first-response target.
	w.post(post{id: "metrics-slow", author: "mel", followers: 60, text: complaint})
	slow := w.decision("x:metrics-slow")
	w.pageWith("mel", "no answer for 3s")
	// A complaint answered well records the time to first answer.
	w.post(post{id: "metrics-good", author: "max", followers: 60, text: complaint})
	good := w.decision("x:metrics-good")
	w.reply(brandPost{id: "metrics-reply", to: "max", text: "@max So sorry about this, Max. We've rebooked you on the 18:05 tonight and emailed the details; reply here if anything is wrong."})
	w.replyOn(good.CaseId, "x:metrics-reply")
	ctx := context.Background()
	if _, err := w.escalation.AcknowledgeCase(ctx, &fbv1.AcknowledgeCaseRequest{Id: slow.CaseId}); err != nil {
		t.Fatalf("acknowledge %s: %v", slow.CaseId, err)
	}
	if _, err := w.escalation.ResolveCase(ctx, &fbv1.ResolveCaseRequest{Id: slow.CaseId, Note: "rebooked"}); err != nil {
		t.Fatalf("resolve %s: %v", slow.CaseId, err)
	}
	// A message no scorer can read is dead-lettered.
	if err := w.nc.Publish("firebreak.mentions.ingested.x", []byte("not a mention")); err != nil {
		t.Fatal(err)
	}

	// Counters appear with their first event: wait for the traffic to
	// reach them, then name every metric still missing.
	var missing []string
	testkit.Within(15*time.Second, func() bool {
		exported := w.exportedMetrics()
		missing = missing[:0]
		for name := range wanted {
			if !exported[name] {
				missing = append(missing, name)
			}
		}
		return len(missing) == 0
	})
	slices.Sort(missing)
	for _, name := range missing {
		t.Errorf("%s is queried by %v but no service exports it", name, wanted[name])
	}
}

// scrapeGenerated are series Prometheus makes itself when it scrapes.
var scrapeGenerated = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true}

// dashboardMetrics parses every PromQL query of the dashboard, panels,
// rows and template variables, and returns each metric name with the
// titles of the panels that query it.
func dashboardMetrics(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string][]string{}
	var walk func([]panel)
	walk = func(panels []panel) {
		for _, p := range panels {
			walk(p.Panels)
			for _, target := range p.Targets {
				for _, name := range metricNames(t, p.Title, grafanaVars(target.Expr)) {
					out[name] = append(out[name], "panel "+p.Title)
				}
			}
		}
	}
	walk(dash.Panels)
	for _, v := range dash.Templating.List {
		var q struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &q) != nil || !strings.HasPrefix(q.Query, "label_values(") {
			continue
		}
		// label_values(expr, label) is Grafana's, not PromQL: check expr.
		inner := strings.TrimSuffix(strings.TrimPrefix(q.Query, "label_values("), ")")
		inner = inner[:strings.LastIndex(inner, ",")]
		for _, name := range metricNames(t, "variable "+v.Name, grafanaVars(inner)) {
			out[name] = append(out[name], "variable "+v.Name)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no PromQL found; has the dashboard's shape changed?", path)
	}
	return out
}

// alertMetrics returns the metric names each alert of a Prometheus rule
// file queries, with the alerts that query them.
func alertMetrics(t *testing.T, path string) map[string][]string {
	t.Helper()
	groups, errs := rulefmt.ParseFile(path, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("%s: %v", path, errs)
	}
	out := map[string][]string{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			for _, name := range metricNames(t, "alert "+r.Alert, r.Expr) {
				out[name] = append(out[name], "alert "+r.Alert)
			}
		}
	}
	return out
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// grafanaVars replaces Grafana's variables with values PromQL accepts.
func grafanaVars(expr string) string {
	return strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
		"$namespace", "firebreak", "$service", "ingest").Replace(expr)
}

// metricNames parses expr and returns the metric names its selectors name.
func metricNames(t *testing.T, where, expr string) []string {
	t.Helper()
	if strings.TrimSpace(expr) == "" {
		return nil
	}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatalf("%s: PromQL %q does not parse: %v", where, expr, err)
	}
	var names []string
	for _, sel := range parser.ExtractSelectors(e) {
		for _, m := range sel {
			if m.Name == "__name__" && !scrapeGenerated[m.Value] {
				names = append(names, m.Value)
			}
		}
	}
	return names
}

// exportedMetrics scrapes every service and returns the names of the
// series they export (histograms as their _bucket, _sum and _count).
func (w *world) exportedMetrics() map[string]bool {
	w.t.Helper()
	out := map[string]bool{}
	for _, addr := range w.stack.HTTPAddrs() {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			w.t.Fatalf("scrape %s: %v", addr, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			w.t.Fatalf("scrape %s: %d %v", addr, resp.StatusCode, err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(body)))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || line[0] == '#' {
				continue
			}
			if end := strings.IndexAny(line, "{ "); end > 0 {
				out[line[:end]] = true
			}
		}
	}
	return out
}
