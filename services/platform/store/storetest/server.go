package storetest

import (
	"testing"

	"github.com/firebreak/firebreak/services/platform/store/redisserver"
)

// StartServer starts a redis-server of its own for t, on a free loopback
// port with its files in a temporary directory, and stops it when t ends.
// args are further settings, e.g. "--appendonly", "yes". It returns the
// server's address. It fails, never skips, when redis-server is missing.
func StartServer(t testing.TB, args ...string) string {
	t.Helper()
	srv, err := redisserver.Start(t.TempDir(), args...)
	if err != nil {
		t.Fatalf("this test needs a redis-server of its own: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv.Addr
}
