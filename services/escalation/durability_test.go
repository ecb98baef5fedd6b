package escalation

import (
	"context"
	"strings"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
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

// TestTimerWorkPastItsBoundWaitsForTheLease: work on claimed timers is
// bounded well inside their lease. A replica that runs out of time leaves
// what it claimed, and no other replica takes it before the lease ends, so
// an overrun never has two replicas deciding the same mention.
func TestTimerWorkPastItsBoundWaitsForTheLease(t *testing.T) {
	// Replica 0 is out of time as soon as it claims anything.
	r := newRigOn(t, clocktest.New(time.Now()), 1, func(c *Config) { c.leaseWork = -1 })
	m := mention("x:overrun", "overrun", 332_000, time.Now())
	r.send(scored(m, 0.9), 1) // its reach never comes
	r.settled()
	r.elapse(time.Minute) // past the join timeout: replica 0 claims the join and runs out of time
	decided := func() bool {
		_, err := r.svc[0].ExplainDecision(context.Background(), &fbv1.ExplainDecisionRequest{MentionId: "x:overrun"})
		return err == nil
	}
	if decided() {
		t.Fatal("decided past the bound on the lease's work")
	}
	healthy := r.start("escalation-1", func(*Config) {})
	r.elapse(timerLease-time.Second, healthy) // the claim still holds
	if decided() {
		t.Fatal("another replica took the join while its lease held")
	}
	r.elapse(2*time.Second, healthy) // the lease ran out
	if !decided() {
		t.Fatal("the join left by the overrun was not decided after its lease")
	}
	r.elapse(time.Minute, healthy)
	if n := count(r.events(), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED); n != 1 {
		t.Fatalf("%d opened events, want 1", n)
	}
}
