// Package bustest runs an embedded NATS server with JetStream per test, so
// tests never share streams with each other or with the machine's NATS.
package bustest

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/firebreak/firebreak/services/platform/broker"
)

// Server starts a NATS server on a free loopback port, stopped at cleanup.
func Server(t testing.TB) *server.Server {
	t.Helper()
	srv, err := broker.Start(broker.Options{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("embedded NATS: %v", err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// Conn connects to srv, closed at cleanup.
func Conn(t testing.TB, srv *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatalf("connect to embedded NATS %s: %v", srv.ClientURL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}
