package load

import (
	"fmt"
	"os"

	"github.com/firebreak/firebreak/services/platform/store/redisserver"
)

// OwnRedis starts a redis-server for the run alone, with its files in a
// temporary directory and no persistence, so the Redis CPU and commands a
// run reports are its own, not those of whatever else uses the machine's
// Redis. stop kills it and removes its files.
func OwnRedis() (url string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "loadgen-redis-")
	if err != nil {
		return "", nil, err
	}
	srv, err := redisserver.Start(dir, "--appendonly", "no")
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, fmt.Errorf("a Redis of the run's own (or pass --redis-url): %w", err)
	}
	return "redis://" + srv.Addr + "/0", func() { srv.Stop(); _ = os.RemoveAll(dir) }, nil
}
