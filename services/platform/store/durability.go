package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// The services that ack a message once Redis holds what it caused (the
// escalation service's first half of a join and its chain timers, the
// notifier's held storm events and delivery log) rely on Redis to persist:
// a Redis that restarts without an append-only file forgets them, and
// nothing on the bus brings them back. At start-up they read the server's
// persistence settings and refuse to start without appendonly, unless told
// the loss is accepted.

// Durability modes (--redis-durability).
const (
	// DurabilityRequire refuses to start on a Redis without appendonly.
	DurabilityRequire = "require"
	// DurabilityAcceptLoss starts anyway, with a warning: a restart of
	// Redis loses what it held (tests, `make run`, throwaway setups).
	DurabilityAcceptLoss = "accept-loss"
)

// Persistence is what one Redis server (a Cluster's primary) says of its
// append-only file.
type Persistence struct {
	Addr        string
	AppendOnly  string // "yes" or "no"
	AppendFsync string // "always", "everysec" or "no"
}

// Persistences reads the append-only settings of the server, or of every
// primary of a Cluster, with CONFIG GET. A managed Redis may refuse CONFIG;
// the error then says so.
func Persistences(ctx context.Context, r redis.UniversalClient) ([]Persistence, error) {
	read := func(ctx context.Context, c redis.Cmdable, addr string) (Persistence, error) {
		m, err := c.ConfigGet(ctx, "append*").Result()
		if err != nil {
			return Persistence{}, fmt.Errorf("CONFIG GET append* on redis at %s: %w", addr, err)
		}
		if m["appendonly"] == "" {
			return Persistence{}, fmt.Errorf("CONFIG GET append* on redis at %s: no appendonly setting in the answer", addr)
		}
		return Persistence{Addr: addr, AppendOnly: m["appendonly"], AppendFsync: m["appendfsync"]}, nil
	}
	cluster, ok := r.(*redis.ClusterClient)
	if !ok {
		p, err := read(ctx, r, addrOf(r))
		if err != nil {
			return nil, err
		}
		return []Persistence{p}, nil
	}
	var mu sync.Mutex
	var out []Persistence
	err := cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		p, err := read(ctx, c, c.Options().Addr)
		mu.Lock()
		defer mu.Unlock()
		out = append(out, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out, nil
}

func addrOf(r redis.UniversalClient) string {
	if c, ok := r.(*redis.Client); ok {
		return c.Options().Addr
	}
	return "the configured address"
}

// CheckDurability enforces mode on Redis's persistence and logs what it
// found. It returns an error, saying what to do, when a server runs without
// appendonly and mode is not DurabilityAcceptLoss. A server that refuses
// CONFIG GET (as some managed services do) cannot be checked: that is
// logged, and the service starts, since such services persist by their own
// settings.
func CheckDurability(ctx context.Context, r redis.UniversalClient, mode string, log *slog.Logger) error {
	ps, err := Persistences(ctx, r)
	if err != nil {
		log.Warn("cannot read Redis's persistence settings; make sure it persists (appendonly yes, or the managed service's persistence), or a Redis restart loses joins, chain timers and held pages",
			"err", err, "redis_durability", mode)
		return nil
	}
	var off []string
	for _, p := range ps {
		log.Info("Redis persistence", "redis", p.Addr, "appendonly", p.AppendOnly, "appendfsync", p.AppendFsync, "redis_durability", mode)
		if p.AppendOnly != "yes" {
			off = append(off, p.Addr)
		} else if p.AppendFsync != "always" {
			log.Info("Redis fsyncs its append-only file "+p.AppendFsync+": a crash of its machine can lose up to the last second of writes (appendfsync always closes that window)", "redis", p.Addr)
		}
	}
	if len(off) == 0 {
		return nil
	}
	where := strings.Join(off, ", ")
	if mode == DurabilityAcceptLoss {
		log.Warn("Redis runs without appendonly and --redis-durability=accept-loss is set: a restart of Redis loses the first half of joins, chain timers, held storm pages and open cases",
			"redis", where)
		return nil
	}
	return errors.New("redis at " + where + " runs without an append-only file (appendonly no): messages are acknowledged once Redis holds what they caused, so a Redis restart would lose joins, chain timers and held pages; " +
		"turn persistence on (appendonly yes in redis.conf, or CONFIG SET appendonly yes then CONFIG REWRITE), or start with --redis-durability=accept-loss (FIREBREAK_REDIS_DURABILITY) to run without it")
}
