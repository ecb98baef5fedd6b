// Package depstest gives a service test its own dependencies: an embedded
// NATS server with a user per service (bustest), a Redis key prefix in the
// real Redis (cleaned up after), and quiet telemetry.
package depstest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/firebreak/firebreak/services/platform/auth/authtest"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
)

// Env is one test's infrastructure.
type Env struct {
	NATS   *server.Server
	Common config.Common
	// Token is accepted by every API of the services on this Env, with
	// every role and every brand.
	Token string
}

// New starts an embedded NATS server and picks a Redis prefix.
func New(t testing.TB) *Env {
	t.Helper()
	return newOn(t, bustest.Server(t))
}

// NewPartitioned is New with the mentions split over partitions streams
// (--mention-partitions), the NATS users' permissions made for them.
func NewPartitioned(t testing.TB, partitions int) *Env {
	t.Helper()
	e := newOn(t, bustest.ServerPartitioned(t, partitions))
	e.Common.MentionPartitions = partitions
	return e
}

// NewSyncAlways is New with JetStream fsyncing every write, as in
// production: for benchmarks.
func NewSyncAlways(t testing.TB) *Env {
	t.Helper()
	return newOn(t, bustest.ServerSyncAlways(t))
}

func newOn(t testing.TB, srv *server.Server) *Env {
	t.Helper()
	_, keys := storetest.New(t)
	everyone := authtest.Everyone()
	keysFile := authtest.KeysFile(t, everyone)
	return &Env{NATS: srv, Token: everyone.Key, Common: config.Common{
		NATSURL: srv.ClientURL(), RedisURL: storetest.URL(), RedisPrefix: keys.Prefix,
		// Tests' Redis need not persist: nothing outlives a test.
		RedisDurability: "accept-loss",
		SubjectPrefix:   "firebreak", MentionPartitions: 1, StreamReplicas: 1, HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
		LogLevel: "debug", ShutdownTimeout: 10 * time.Second,
		Auth: config.Auth{KeysFile: keysFile},
	}}
}

// NewOnCluster is New with a Redis Cluster of its own (three primaries,
// three replicas) instead of the machine's Redis, reached through one seed
// address as an operator would give it.
func NewOnCluster(t testing.TB) *Env {
	t.Helper()
	e := New(t)
	e.Common.RedisAddrs = storetest.StartCluster(t).Addrs[0]
	e.Common.RedisURL = "redis://"
	return e
}

// Config is the common settings of a service on the test's
// infrastructure, logging in to NATS as Deps says.
func (e *Env) Config(t testing.TB, service string) config.Common {
	t.Helper()
	c := e.Common
	c.Service = service
	c.NATSUser = ServiceOf(service)
	if c.NATSUser == "" {
		c.NATSUser = bustest.Harness
	}
	c.NATSPassFile = bustest.PasswordFile(t, e.NATS, c.NATSUser)
	return c
}

// Deps opens a service's dependencies on the test's infrastructure. A
// service, or a replica of one ("notifier-2"), connects to NATS as that
// service's user, with its permissions and no more; any other name (the
// test's own "test") connects as bustest.Harness, which may do anything.
func (e *Env) Deps(t testing.TB, service string) *deps.Deps {
	t.Helper()
	c := e.Config(t, service)
	d, err := deps.Open(context.Background(), c, telemetrytest.New(t, service))
	if err != nil {
		t.Fatalf("open dependencies of %s: %v", service, err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

// ServiceOf is the service a name stands for: "notifier" for "notifier" or
// a replica's "notifier-2", "" for anything else.
func ServiceOf(name string) string {
	for _, s := range bus.Services {
		if name == s || strings.HasPrefix(name, s+"-") {
			return s
		}
	}
	return ""
}
