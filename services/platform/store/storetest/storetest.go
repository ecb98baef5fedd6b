// Package storetest gives each test its own key prefix in the machine's real
// Redis (REDIS_URL, default redis://127.0.0.1:6379/0) and deletes its keys
// afterwards. A test fails, never skips, when Redis is not there.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/services/platform/store"
)

// URL is the Redis tests use.
func URL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		if !strings.Contains(u, "://") {
			u = "redis://" + u
		}
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// New connects to Redis and returns a client and a prefix unique to t.
func New(t testing.TB) (redis.UniversalClient, store.Keys) {
	t.Helper()
	ctx := context.Background()
	client, err := store.Open(ctx, store.Options{URL: URL()})
	if err != nil {
		t.Fatalf("this test needs the real Redis: %v", err)
	}
	keys := store.Keys{Prefix: Prefix(t)}
	t.Cleanup(func() {
		Clean(t, client, keys.Prefix)
		_ = client.Close()
	})
	return client, keys
}

// Prefix returns a key prefix unique to t.
func Prefix(t testing.TB) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return "fbtest:" + name + ":" + hex.EncodeToString(b) + ":"
}

// Clean deletes every key under prefix, on every primary of a Cluster.
func Clean(t testing.TB, client redis.UniversalClient, prefix string) {
	ctx := context.Background()
	if cluster, ok := client.(*redis.ClusterClient); ok {
		err := cluster.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return cleanNode(ctx, node, prefix)
		})
		if err != nil {
			t.Errorf("clean Redis keys %s*: %v", prefix, err)
		}
		return
	}
	if err := cleanNode(ctx, client, prefix); err != nil {
		t.Errorf("clean Redis keys %s*: %v", prefix, err)
	}
}

// cleanNode deletes the keys under prefix that one server holds, one key a
// command so that keys of different Cluster slots never share a DEL.
func cleanNode(ctx context.Context, client redis.Cmdable, prefix string) error {
	iter := client.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var batch []string
	flush := func() {
		pipe := client.Pipeline()
		for _, k := range batch {
			pipe.Unlink(ctx, k)
		}
		_, _ = pipe.Exec(ctx)
		batch = batch[:0]
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return iter.Err()
}
