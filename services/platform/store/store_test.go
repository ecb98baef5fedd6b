package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

func TestOpenSaysWhereRedisDidNotAnswer(t *testing.T) {
	_, err := store.Open(context.Background(), store.Options{URL: "redis://127.0.0.1:1/0"})
	if err == nil || !strings.Contains(err.Error(), "redis at 127.0.0.1:1 did not answer") || !strings.Contains(err.Error(), "FIREBREAK_REDIS_URL") {
		t.Fatalf("err = %v", err)
	}
}

func TestKeysOfOneEntityShareAHashTag(t *testing.T) {
	k := store.Keys{Prefix: "fb:"}
	tag := store.Tag("acme/x/42")
	a, b := k.Of(tag, "window"), k.Of(tag, "case", "1")
	if !strings.HasPrefix(a, "fb:{"+tag+"}") || !strings.HasPrefix(b, "fb:{"+tag+"}") || tag == store.Tag("acme/x/43") {
		t.Fatalf("keys %s, %s", a, b)
	}
}

func TestOneSeedAddressOfAClusterGetsAClusterClient(t *testing.T) {
	cluster := storetest.StartCluster(t)
	ctx := context.Background()
	for name, opts := range map[string]store.Options{
		"redis-addrs": {URL: "redis://", Addrs: cluster.Addrs[:1]},
		"redis-url":   {URL: "redis://" + cluster.Addrs[0] + "/0"},
	} {
		client, err := store.Open(ctx, opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, ok := client.(*redis.ClusterClient); !ok {
			t.Errorf("%s: a %T for a Cluster seed, want *redis.ClusterClient", name, client)
		}
		// Keys of many slots: a plain client would get MOVED for most.
		for i := range 50 {
			if err := client.Set(ctx, fmt.Sprintf("fbtest:seed:%d", i), i, time.Minute).Err(); err != nil {
				t.Fatalf("%s: set key %d: %v", name, i, err)
			}
		}
		_ = client.Close()
	}
	if _, err := store.Open(ctx, store.Options{URL: "redis://" + cluster.Addrs[0] + "/3"}); err == nil || !strings.Contains(err.Error(), "only database 0") {
		t.Errorf("a Cluster seed with database 3: %v, want a refusal naming database 0", err)
	}
}

func TestShardedIndexSpreadsOverEveryPrimary(t *testing.T) {
	k := store.Keys{Prefix: "fb:"}
	shards := k.Sharded("joins")
	if len(shards) != store.Shards || shards[3] != "fb:{joins.03}:joins" {
		t.Fatalf("shards %v", shards)
	}
	if got := k.ShardOf("joins", "abc|x:1"); got != shards[store.ShardIndex("abc|x:1")] {
		t.Fatalf("ShardOf %s is not among Sharded", got)
	}
	// The shards' slots must fall on every primary of a three-primary
	// Cluster (slots 0-5460, 5461-10922, 10923-16383, as redis-cli assigns).
	for _, name := range []string{"joins", "timers", "cases", "storms"} {
		var seen [3]int
		for _, key := range k.Sharded(name) {
			seen[slot(key)*3/16384]++
		}
		if seen[0] == 0 || seen[1] == 0 || seen[2] == 0 {
			t.Errorf("%s shards per primary %v: one primary carries none", name, seen)
		}
	}
}

// slot is Redis Cluster's key slot: CRC16 (XMODEM) of the hash tag.
func slot(key string) int {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if end := strings.IndexByte(key[open+1:], '}'); end > 0 {
			key = key[open+1 : open+1+end]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}
