package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/firebreak/firebreak/services/platform/telemetry"
)

func setup(t *testing.T, opts telemetry.Options) *telemetry.Telemetry {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), "probe", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}

func TestLogsCarryTheTraceOfTheSpanInTheirContext(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	tel := setup(t, telemetry.Options{Output: &out})
	ctx, span := tel.Tracer.Tracer("test").Start(context.Background(), "work")
	tel.Logger.InfoContext(ctx, "inside")
	span.End()
	tel.Logger.InfoContext(context.Background(), "outside")

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want two JSON log lines, got:\n%s", out.String())
	}
	var inside, outside map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &inside); err != nil {
		t.Fatalf("log line is not JSON: %v\n%s", err, lines[0])
	}
	if err := json.Unmarshal([]byte(lines[1]), &outside); err != nil {
		t.Fatal(err)
	}
	sc := span.SpanContext()
	if inside["trace_id"] != sc.TraceID().String() || inside["span_id"] != sc.SpanID().String() {
		t.Fatalf("log in the span has trace_id %v span_id %v, want %s %s", inside["trace_id"], inside["span_id"], sc.TraceID(), sc.SpanID())
	}
	if inside["service"] != "probe" || inside["msg"] != "inside" {
		t.Fatalf("log line lacks the service or message: %v", inside)
	}
	if _, ok := outside["trace_id"]; ok {
		t.Fatalf("a log outside any span carries a trace id: %v", outside)
	}
}

func TestLogLevelHidesWhatIsBelowIt(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	tel := setup(t, telemetry.Options{Output: &out, Level: "warn"})
	tel.Logger.Info("chatter")
	tel.Logger.Warn("worth reading")
	if strings.Contains(out.String(), "chatter") || !strings.Contains(out.String(), "worth reading") {
		t.Fatalf("at level warn the log is:\n%s", out.String())
	}
}

func TestBadLogLevelIsRefusedByName(t *testing.T) {
	t.Parallel()
	_, err := telemetry.Setup(context.Background(), "probe", telemetry.Options{Level: "loud", Output: io.Discard})
	if err == nil {
		t.Fatal("log level loud was accepted")
	}
	if !strings.Contains(err.Error(), `"loud"`) || !strings.Contains(err.Error(), "debug, info, warn or error") {
		t.Fatalf("error %q does not name the level it refused and the ones it takes", err)
	}
}

func TestMetricsHandlerServesARegisteredMetricInPrometheusNames(t *testing.T) {
	t.Parallel()
	tel := setup(t, telemetry.Options{Output: io.Discard, Version: "1.2.3"})
	hits, err := tel.Meter.Meter("firebreak/test").Int64Counter("firebreak.test.hits", metric.WithDescription("hits in a test"))
	if err != nil {
		t.Fatal(err)
	}
	hits.Add(context.Background(), 3, metric.WithAttributes(attribute.String("outcome", "ok")))

	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics answered %d", rec.Code)
	}
	body := rec.Body.String()
	// The OTel name is translated by the exporter: dots become
	// underscores and a counter gains _total.
	if !strings.Contains(body, `firebreak_test_hits_total{outcome="ok"} 3`) {
		t.Fatalf("the counter is not served under its Prometheus name:\n%s", body)
	}
	if !strings.Contains(body, "# HELP firebreak_test_hits_total hits in a test") {
		t.Fatal("the counter's description is not served")
	}
	if !strings.Contains(body, `service_name="firebreak-probe"`) || !strings.Contains(body, `service_version="1.2.3"`) {
		t.Fatal("target_info does not name the service and its version")
	}
	if !strings.Contains(body, "go_goroutines") {
		t.Fatal("the Go runtime's metrics are not served")
	}
}

// Without anywhere to send spans, they carry ids (for logs and the bus's
// headers) but are not recorded; with an exporter they are, and a caller's
// sampled trace is recorded either way.
func TestSpansAreRecordedOnlyWhenSomethingReceivesThem(t *testing.T) {
	t.Parallel()
	bare := setup(t, telemetry.Options{Output: io.Discard})
	_, span := bare.Tracer.Tracer("test").Start(context.Background(), "work")
	span.End()
	if span.IsRecording() || !span.SpanContext().IsValid() {
		t.Fatalf("with no exporter: recording %v, valid ids %v; want ids without recording", span.IsRecording(), span.SpanContext().IsValid())
	}

	sampled := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, Remote: true})
	_, child := bare.Tracer.Tracer("test").Start(trace.ContextWithRemoteSpanContext(context.Background(), sampled), "work")
	defer child.End()
	if !child.IsRecording() || child.SpanContext().TraceID() != sampled.TraceID() {
		t.Fatal("a caller's sampled trace must be recorded and continued")
	}

	exported := setup(t, telemetry.Options{Output: io.Discard, Spans: tracetest.NewInMemoryExporter()})
	_, span = exported.Tracer.Tracer("test").Start(context.Background(), "work")
	defer span.End()
	if !span.IsRecording() {
		t.Fatal("with an exporter, spans must be recorded")
	}
}
