package deps_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/services/platform/admin"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/deps/depstest"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// closed is an address nothing listens on: connecting is refused at once.
const closed = "127.0.0.1:1"

const password = "hunter2-s3cret"

// TestOpenWithADependencyUnreachableNamesItNotItsPassword: an
// unreachable Redis or NATS fails Open with an error that says which, where,
// and how to point at another, and never shows the password in its URL.
func TestOpenWithADependencyUnreachableNamesItNotItsPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dependency string
		point      func(c *config.Common, url string)
		scheme     string
		want       []string
	}{
		{"Redis", func(c *config.Common, url string) { c.RedisURL = url }, "redis", []string{"redis", closed, "REDIS_URL"}},
		{"NATS", func(c *config.Common, url string) { c.NATSURL = url }, "nats", []string{"NATS", closed, "FIREBREAK_NATS_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.dependency, func(t *testing.T) {
			t.Parallel()
			env := depstest.New(t)
			c := env.Common
			// Logged in to NATS as the test harness, as env.Deps does.
			c.Service, c.NATSUser = "probe", bustest.Harness
			c.NATSPassFile = bustest.PasswordFile(t, env.NATS, bustest.Harness)
			tt.point(&c, tt.scheme+"://firebreak:"+password+"@"+closed)
			_, err := deps.Open(context.Background(), c, telemetrytest.New(t, "probe"))
			if err == nil {
				t.Fatalf("Open succeeded with %s unreachable", tt.dependency)
			}
			msg := err.Error()
			if strings.Contains(msg, password) {
				t.Fatalf("the error shows the %s password: %s", tt.dependency, msg)
			}
			for _, want := range tt.want {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q (which dependency, where, and how to point at another)", msg, want)
				}
			}
		})
	}
}

func TestReadyNamesTheDependencyThatIsDown(t *testing.T) {
	t.Parallel()
	env := depstest.New(t)
	d := env.Deps(t, "probe")
	ctx := context.Background()
	if err := d.Ready(ctx); err != nil {
		t.Fatalf("with NATS and Redis up: %v", err)
	}

	// Redis goes away (the client now points where nothing answers).
	up, gone := d.Redis, redis.NewClient(&redis.Options{Addr: closed, MaxRetries: -1})
	defer gone.Close()
	d.Redis = gone
	assertDown(t, d.Ready(ctx), "Redis")

	// NATS goes away: its server shuts down.
	d.Redis = up
	env.NATS.Shutdown()
	testkit.Eventually(t, "the NATS connection to notice the server is gone", func() bool { return d.Ready(ctx) != nil })
	assertDown(t, d.Ready(ctx), "NATS")
}

func assertDown(t *testing.T, err error, dependency string) {
	t.Helper()
	var down *admin.Down
	if !errors.As(err, &down) {
		t.Fatalf("Ready: %v, want an *admin.Down naming %s", err, dependency)
	}
	if down.Dependency != dependency {
		t.Fatalf("Ready names %q as down, want %q (err %v)", down.Dependency, dependency, err)
	}
}
