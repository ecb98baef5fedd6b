package bus_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
)

// TestEveryServiceReportsEveryStreamsFill: each service's metrics show
// how full every stream is, each service's dead-letter stream included,
// with its own NATS user (stream info reveals no message).
func TestEveryServiceReportsEveryStreamsFill(t *testing.T) {
	srv := bustest.Server(t)
	for _, service := range bus.Services {
		js, err := jetstream.New(bustest.ConnAs(t, srv, service))
		if err != nil {
			t.Fatal(err)
		}
		tel := telemetrytest.New(t, service)
		reg, err := bus.ObserveStreams(tel.Meter.Meter("test"), js, names)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = reg.Unregister() })
		rec := httptest.NewRecorder()
		tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		for _, spec := range names.Streams() {
			for _, metric := range []string{"firebreak_stream_size_bytes", "firebreak_stream_size_limit_bytes"} {
				if !strings.Contains(rec.Body.String(), metric+"{") || !containsSeries(rec.Body.String(), metric, spec.Name) {
					t.Errorf("%s's /metrics has no %s for %s", service, metric, spec.Name)
				}
			}
		}
	}
}

func containsSeries(body, metric, stream string) bool {
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, metric+"{") && strings.Contains(line, `stream="`+stream+`"`) {
			return true
		}
	}
	return false
}
