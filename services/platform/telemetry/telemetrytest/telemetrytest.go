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
	return NewWith(t, service, telemetry.Options{})
}

// NewWith is New with opts; its log level and output are the test's.
func NewWith(t testing.TB, service string, opts telemetry.Options) *telemetry.Telemetry {
	t.Helper()
	var out io.Writer = io.Discard
	if os.Getenv("FIREBREAK_TEST_LOGS") != "" {
		out = os.Stderr
	}
	opts.Level, opts.Output = "debug", out
	tel, err := telemetry.Setup(context.Background(), service, opts)
	if err != nil {
		t.Fatalf("telemetry for %s: %v", service, err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}
