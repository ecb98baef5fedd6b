package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/services/platform/store"
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
