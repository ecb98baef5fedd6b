package admin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/services/platform/admin"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
)

func TestReadyzNamesTheDependencyThatIsDownWithoutItsError(t *testing.T) {
	down := func(context.Context) error {
		return &admin.Down{Dependency: "Redis", Err: errors.New("WRONGPASS for user firebreak at 10.0.0.7:6379")}
	}
	srv, err := admin.Listen("127.0.0.1:0", telemetrytest.New(t, "test"), down)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	resp, err := http.Get("http://" + srv.Addr() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "Redis is unavailable") ||
		strings.Contains(string(body), "10.0.0.7") || strings.Contains(string(body), "WRONGPASS") {
		t.Fatalf("/readyz: %d %q", resp.StatusCode, body)
	}
}
