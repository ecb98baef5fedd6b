package store_test

import (
	"fmt"
	"testing"

	"github.com/firebreak/firebreak/services/platform/store"
)

// ShardTag names a shard as it always has, "%s.%02d", so keys written
// before still name the same shards.
func TestShardTagIsTwoDigits(t *testing.T) {
	for i := -12; i < 120; i++ {
		if got, want := store.ShardTag("cases", i), fmt.Sprintf("%s.%02d", "cases", i); got != want {
			t.Errorf("ShardTag(cases, %d) = %q, want %q", i, got, want)
		}
	}
}
