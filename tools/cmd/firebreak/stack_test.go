package main

import (
	"context"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/telemetry"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
	"github.com/firebreak/firebreak/tools/stack"
)

// startFirebreak runs all the services in this process for a CLI test, on
// an embedded NATS server of its own and its own Redis key prefix, with
// extra flags per service; it stops them at cleanup.
func startFirebreak(t *testing.T, flags map[string][]string) (*stack.Stack, *server.Server) {
	t.Helper()
	st, srv, _ := startFirebreakOnRedis(t, flags)
	return st, srv
}

// startFirebreakOnRedis is startFirebreak that also returns forget, which
// makes Redis lose everything the services wrote.
func startFirebreakOnRedis(t *testing.T, flags map[string][]string) (*stack.Stack, *server.Server, func()) {
	t.Helper()
	srv := bustest.Server(t)
	client, keys := storetest.New(t)
	st, err := stack.Start(context.Background(), stack.Options{
		AcceptRedisLoss: true, // the machine's Redis need not persist
		Common: []string{"--nats-url=" + srv.ClientURL(), "--redis-url=" + storetest.URL(), "--redis-key-prefix=" + keys.Prefix,
			"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0"},
		Flags:           flags,
		Telemetry:       func(name string) (*telemetry.Telemetry, error) { return telemetrytest.New(t, name), nil },
		NATSPasswordDir: bustest.PasswordDir(t, srv),
	})
	if err != nil {
		t.Fatalf("start Firebreak: %v", err)
	}
	t.Cleanup(func() { _ = st.Stop(context.Background()) })
	return st, srv, func() { storetest.Clean(t, client, keys.Prefix) }
}
