package deploycheck

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
)

var rulesFile = filepath.Join(chartDir, "rules", "firebreak.rules.yaml")

// alertCases give each alert series on which it must fire and series on
// which it must stay quiet, as promtool's rule tests do: samples one
// minute apart from time zero, the rule evaluated every minute up to evalAt.
var alertCases = []struct {
	alert     string
	bad, good []string
	evalAt    time.Duration
}{
	{
		alert: "FirebreakEscalationsNotPaged",
		bad: []string{
			`firebreak_cases_opened_total{team="senior"} 0+1x60
			 firebreak_pages_total{team="senior",outcome="failed"} 0+1x60`,
			// Another team's pages do not cover senior's cases.
			`firebreak_cases_opened_total{team="senior"} 0+1x60
			 firebreak_pages_total{team="standard",outcome="delivered"} 0+1x60`,
		},
		good: []string{
			`firebreak_cases_opened_total{team="senior"} 0+1x60
			 firebreak_pages_total{team="senior",outcome="delivered"} 0+1x60`,
			// No cases, no pages: a quiet night.
			`firebreak_cases_opened_total{team="senior"} 5x60
			 firebreak_pages_total{team="senior",outcome="delivered"} 5x60`,
		},
		evalAt: 59 * time.Minute,
	},
	{
		alert:  "FirebreakFirstResponseBreached",
		bad:    []string{`firebreak_first_response_breaches_total{brand="acme",priority="normal"} 0x50 1x10`},
		good:   []string{`firebreak_first_response_breaches_total{brand="acme",priority="normal"} 1x60`},
		evalAt: 59 * time.Minute,
	},
	{
		alert: "FirebreakDeadLettersGrowing",
		bad:   []string{`firebreak_messages_processed_total{consumer="scorer-mentions",outcome="deadletter"} 0+1x60`},
		good: []string{
			// Old dead letters that stopped growing, and plenty of acks.
			`firebreak_messages_processed_total{consumer="scorer-mentions",outcome="deadletter"} 3x60
			 firebreak_messages_processed_total{consumer="scorer-mentions",outcome="ack"} 0+100x60`,
		},
		evalAt: 59 * time.Minute,
	},
	{
		alert: "FirebreakConsumerLagging",
		bad: []string{
			`firebreak_consumer_lag{consumer="escalation-join",stream="FIREBREAK_MENTIONS"} 100+200x60`,
			// Four mention partitions, each behind by less than the
			// threshold and together by more.
			`firebreak_consumer_lag{consumer="escalation-join",stream="FIREBREAK_MENTIONS"} 300x60
			 firebreak_consumer_lag{consumer="escalation-join",stream="FIREBREAK_MENTIONS_P1"} 300x60
			 firebreak_consumer_lag{consumer="escalation-join",stream="FIREBREAK_MENTIONS_P2"} 300x60
			 firebreak_consumer_lag{consumer="escalation-join",stream="FIREBREAK_MENTIONS_P3"} 300x60`,
		},
		good: []string{
			// A five-minute burst that is cleared.
			`firebreak_consumer_lag{consumer="escalation-join",stream="FIREBREAK_MENTIONS"} 0x50 5000x5 0x5`,
			`firebreak_consumer_lag{consumer="escalation-join",stream="FIREBREAK_MENTIONS"} 900x60`,
			// Two replicas report the same lag: it counts once.
			`firebreak_consumer_lag{consumer="escalation-join",stream="FIREBREAK_MENTIONS",instance="a"} 900x60
			 firebreak_consumer_lag{consumer="escalation-join",stream="FIREBREAK_MENTIONS",instance="b"} 900x60`,
		},
		evalAt: 59 * time.Minute,
	},
	{
		alert: "FirebreakStreamNearLimit",
		bad: []string{
			`firebreak_stream_size_bytes{stream="FIREBREAK_DEADLETTER"} 900x60
			 firebreak_stream_size_limit_bytes{stream="FIREBREAK_DEADLETTER"} 1000x60`,
			`firebreak_stream_messages{stream="FIREBREAK_CASES"} 95x60
			 firebreak_stream_messages_limit{stream="FIREBREAK_CASES"} 100x60`,
			`firebreak_jetstream_storage_bytes 9e9x60
			 firebreak_jetstream_storage_limit_bytes 10e9x60`,
		},
		good: []string{
			// No limit (-1) is never near it.
			`firebreak_stream_size_bytes{stream="FIREBREAK_MENTIONS"} 9e12x60
			 firebreak_stream_size_limit_bytes{stream="FIREBREAK_MENTIONS"} -1x60
			 firebreak_jetstream_storage_bytes 9e12x60
			 firebreak_jetstream_storage_limit_bytes -1x60`,
			`firebreak_stream_size_bytes{stream="FIREBREAK_DEADLETTER"} 500x60
			 firebreak_stream_size_limit_bytes{stream="FIREBREAK_DEADLETTER"} 1000x60`,
		},
		evalAt: 59 * time.Minute,
	},
	{
		alert: "FirebreakReceiverFailing",
		bad:   []string{`firebreak_deliveries_total{receiver="pagerduty",outcome="failed",reason="server_error"} 0+1x60`},
		good: []string{
			// One failure among many deliveries is a blip, not a failing receiver.
			`firebreak_deliveries_total{receiver="pagerduty",outcome="delivered",reason=""} 0+10x60
			 firebreak_deliveries_total{receiver="pagerduty",outcome="failed",reason="timeout"} 0x30 1x30`,
		},
		evalAt: 59 * time.Minute,
	},
}

// TestAlertsFireOnBadSeriesAndStayQuietOnGoodOnes evaluates every alert of
// the chart's rule file, parsed as Prometheus parses rule files, with
// Prometheus's PromQL engine over promqltest's storage. (The rules package
// itself would pull the remote-write and cloud SDKs into every build of
// tools; the pending-then-firing rule it applies is the few lines of
// firing.)
func TestAlertsFireOnBadSeriesAndStayQuietOnGoodOnes(t *testing.T) {
	t.Parallel()
	alerts := loadAlerts(t)
	tested := map[string]bool{}
	for _, tc := range alertCases {
		rule, ok := alerts[tc.alert]
		if !ok {
			t.Errorf("no alert %s in %s", tc.alert, rulesFile)
			continue
		}
		tested[tc.alert] = true
		for i, series := range tc.bad {
			if n := firing(t, rule, series, tc.evalAt); n == 0 {
				t.Errorf("%s stayed quiet on bad series %d:\n%s", tc.alert, i, series)
			}
		}
		for i, series := range tc.good {
			if n := firing(t, rule, series, tc.evalAt); n != 0 {
				t.Errorf("%s fired %d alerts on good series %d:\n%s", tc.alert, n, i, series)
			}
		}
	}
	for name := range alerts {
		if !tested[name] {
			t.Errorf("alert %s has no test case", name)
		}
	}
}

// TestChartShipsTheRuleFileAsAPrometheusRule: the PrometheusRule holds the
// same alerts as the file, and only when asked for.
func TestChartShipsTheRuleFileAsAPrometheusRule(t *testing.T) {
	t.Parallel()
	if objs := decode(t, []byte(mustRender(t, "").Manifest)); len(objs.prometheusRules) != 0 {
		t.Errorf("%d PrometheusRules by default, want none", len(objs.prometheusRules))
	}
	objs := decode(t, []byte(mustRender(t, "prometheusRule:\n  enabled: true\n  labels: {release: prometheus}\n").Manifest))
	if len(objs.prometheusRules) != 1 {
		t.Fatalf("%d PrometheusRules, want 1", len(objs.prometheusRules))
	}
	pr := objs.prometheusRules[0]
	if pr.Metadata.Labels["release"] != "prometheus" {
		t.Errorf("PrometheusRule labels %v, want release=prometheus", pr.Metadata.Labels)
	}
	alerts := loadAlerts(t)
	got := 0
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			want, ok := alerts[r.Alert]
			if !ok {
				t.Errorf("PrometheusRule has alert %q, which the rule file lacks", r.Alert)
				continue
			}
			got++
			if r.Expr != want.Expr || r.Annotations["runbook"] != want.Annotations["runbook"] {
				t.Errorf("PrometheusRule %s differs from the rule file", r.Alert)
			}
		}
	}
	if got != len(alerts) {
		t.Errorf("PrometheusRule has %d alerts, the rule file %d", got, len(alerts))
	}
}

// loadAlerts parses the rule file as Prometheus does, by alert name.
func loadAlerts(t *testing.T) map[string]rulefmt.Rule {
	t.Helper()
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("%s: %v", rulesFile, errs)
	}
	out := map[string]rulefmt.Rule{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out[r.Alert] = r
			}
		}
	}
	return out
}

// firing loads series, evaluates the alert's expression once a minute up
// to evalAt as Prometheus's rule manager does, and returns how many of its
// series are firing then: present at every evaluation for the rule's "for".
func firing(t *testing.T, r rulefmt.Rule, series string, evalAt time.Duration) int {
	t.Helper()
	storage := promqltest.LoadedStorage(t, "load 1m\n"+series)
	engine := promqltest.NewTestEngine(t, false, 0, 100000)
	hold := time.Duration(r.For)
	activeSince := map[uint64]time.Duration{}
	n := 0
	for at := time.Duration(0); at <= evalAt; at += time.Minute {
		q, err := engine.NewInstantQuery(context.Background(), storage, nil, r.Expr, time.Unix(0, 0).Add(at))
		if err != nil {
			t.Fatalf("%s: %v", r.Alert, err)
		}
		res := q.Exec(context.Background())
		if res.Err != nil {
			t.Fatalf("%s at %s: %v", r.Alert, at, res.Err)
		}
		vec, err := res.Vector()
		if err != nil {
			t.Fatalf("%s at %s: %v", r.Alert, at, err)
		}
		q.Close()
		now := map[uint64]time.Duration{}
		n = 0
		for _, sample := range vec {
			h := sample.Metric.Hash()
			since, ok := activeSince[h]
			if !ok {
				since = at
			}
			now[h] = since
			if at-since >= hold {
				n++
			}
		}
		activeSince = now // a series that vanished starts over, as a resolved alert does
	}
	return n
}
