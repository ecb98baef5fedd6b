// Package telemetrytest gives tests a quiet Telemetry; set
// FIREBREAK_TEST_LOGS=1 to see the services' logs on stderr.
package telemetrytest

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/firebreak/firebreak/services/platform/telemetry"
)

// New returns telemetry for one service in a test, shut down at cleanup.
func New(t testing.TB, service string) *telemetry.Telemetry {
	t.Helper()
	var out io.Writer = io.Discard
	if os.Getenv("FIREBREAK_TEST_LOGS") != "" {
		out = os.Stderr
	}
	tel, err := telemetry.Setup(context.Background(), service, telemetry.Options{Level: "debug", Output: out})
	if err != nil {
		t.Fatalf("telemetry for %s: %v", service, err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}
