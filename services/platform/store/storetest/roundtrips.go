package storetest

import (
	"context"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// RoundTrips is a client hook that counts the commands and pipelines a
// client sends, each one network round trip, but for a new connection's
// set-up (HELLO, CLIENT SETINFO), which the pool makes whenever it dials:
// add it with client.AddHook and read N.
type RoundTrips struct{ N atomic.Int64 }

func (c *RoundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *RoundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "hello" {
			c.N.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (c *RoundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if cmds[0].Name() != "client" {
			c.N.Add(1)
		}
		return next(ctx, cmds)
	}
}
