package e2e

import (
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/firebreak/firebreak/services/platform/telemetry"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// TestOneTraceFromThePostToThePage follows a complaint from ingest's HTTP
// edge to the receiver's HTTP call: every service's spans, and the call
// itself, share the trace the post started, and the bus spans are named
// as OpenTelemetry's messaging conventions name them.
func TestOneTraceFromThePostToThePage(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	w := startSetup(t, setup{tel: telemetry.Options{Spans: spans}})
	w.post(post{id: "traced-1", author: "tracy", followers: 332_000, text: complaint})
	w.pagesAbout("tracy", 1)

	var delivery tracetest.SpanStub
	testkit.Eventually(t, "the receiver's HTTP call as a client span", func() bool {
		for _, s := range spans.GetSpans() {
			if service(s) == "notifier" && s.SpanKind == trace.SpanKindClient {
				delivery = s
				return true
			}
		}
		return false
	})
	id := delivery.SpanContext.TraceID()
	inTrace := map[string]bool{}
	var bus []tracetest.SpanStub
	for _, s := range spans.GetSpans() {
		if s.SpanContext.TraceID() != id {
			continue
		}
		inTrace[service(s)] = true
		t.Logf("%-10s %-8s %s", service(s), s.SpanKind, s.Name)
		if s.SpanKind == trace.SpanKindProducer || s.SpanKind == trace.SpanKindConsumer {
			bus = append(bus, s)
		}
	}
	for _, svc := range []string{"ingest", "scorer", "reach", "escalation", "notifier"} {
		if !inTrace[svc] {
			t.Errorf("no span of %s in the page's trace %s (services in it: %v)", svc, id, inTrace)
		}
	}
	_, timeline := w.caseOf(w.decision("x:traced-1").CaseId)
	if got := timeline[0].TraceId; got != id.String() {
		t.Errorf("the case's %v event has trace id %q, want the page's %s", timeline[0].Type, got, id)
	}
	if len(bus) == 0 {
		t.Fatal("the trace has no producer or consumer spans")
	}
	for _, s := range bus {
		checkMessagingSpan(t, s)
	}
}

// checkMessagingSpan fails unless s is named "<operation> <subject>" and
// carries the messaging attributes for NATS.
func checkMessagingSpan(t *testing.T, s tracetest.SpanStub) {
	t.Helper()
	attrs := map[attribute.Key]string{}
	for _, kv := range s.Attributes {
		attrs[kv.Key] = kv.Value.Emit()
	}
	op, dest := "process", attrs["messaging.destination.name"]
	if s.SpanKind == trace.SpanKindProducer {
		op = "send"
	}
	if attrs["messaging.system"] != "nats" || dest == "" || attrs["messaging.operation.type"] != op ||
		attrs["messaging.operation.name"] != op || s.Name != op+" "+dest || !strings.Contains(dest, ".") {
		t.Errorf("%s span %q of %s: attributes %v do not follow the messaging conventions", s.SpanKind, s.Name, service(s), attrs)
	}
}

// service is the Firebreak service that made s ("firebreak-reach" → "reach").
func service(s tracetest.SpanStub) string {
	v, _ := s.Resource.Set().Value("service.name")
	return strings.TrimPrefix(v.AsString(), "firebreak-")
}
