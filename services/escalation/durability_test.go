package escalation

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/platform/deps/depstest"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// TestStartRefusesRedisWithoutAppendOnly: escalation acks the first half of
// a join once Redis holds it, so it will not start on a Redis that does not
// persist unless told the loss is accepted.
func TestStartRefusesRedisWithoutAppendOnly(t *testing.T) {
	env := depstest.New(t)
	env.Common.RedisURL = "redis://" + storetest.StartServer(t, "--appendonly", "no") + "/0"
	cfg := Config{Common: env.Common, Reopen: time.Hour, DecisionTTL: time.Hour, MaxInFlight: 1,
		TimerTick: time.Hour, JoinTimeout: time.Second, PolicyCheck: time.Hour}
	cfg.RedisDurability = store.DurabilityRequire
	_, err := New(t.Context(), cfg, env.Deps(t, "escalation"))
	if err == nil || !strings.Contains(err.Error(), "appendonly no") {
		t.Fatalf("New on a Redis without appendonly: %v, want a refusal", err)
	}
	cfg.RedisDurability = store.DurabilityAcceptLoss
	svc, err := New(t.Context(), cfg, env.Deps(t, "escalation-2"))
	if err != nil {
		t.Fatalf("New with --redis-durability=accept-loss: %v", err)
	}
	_ = svc.Stop(context.Background())
}
