// Package store connects to Redis, whether one server, Sentinel or Cluster,
// through go-redis's universal client, and names keys so that the keys one
// script touches share a hash tag and land in the same Cluster slot.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options say where Redis is. With Addrs empty, URL is used.
type Options struct {
	URL        string
	Addrs      []string
	MasterName string
	Password   string
}

// Open connects and pings, so a missing Redis is reported at start-up with
// the address that did not answer.
func Open(ctx context.Context, opts Options) (redis.UniversalClient, error) {
	uopts := &redis.UniversalOptions{Addrs: opts.Addrs, MasterName: opts.MasterName, Password: opts.Password}
	where := strings.Join(opts.Addrs, ",")
	if len(opts.Addrs) == 0 {
		parsed, err := redis.ParseURL(opts.URL)
		if err != nil {
			return nil, fmt.Errorf("parse Redis URL %q: %w (want redis://host:6379/0)", opts.URL, err)
		}
		uopts.Addrs = []string{parsed.Addr}
		uopts.DB = parsed.DB
		uopts.Username = parsed.Username
		// A password from a file (a Kubernetes Secret) wins over one in the
		// URL, so the URL can stay in a ConfigMap.
		uopts.Password = parsed.Password
		if opts.Password != "" {
			uopts.Password = opts.Password
		}
		uopts.TLSConfig = parsed.TLSConfig
		where = parsed.Addr
	}
	client := redis.NewUniversalClient(uopts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redis at %s did not answer: %w; start one (redis-server) or point FIREBREAK_REDIS_URL / REDIS_URL at yours", where, err)
	}
	return client, nil
}

// Keys builds key names under a prefix ("firebreak:" by default), so several
// installations and tests can share one Redis.
type Keys struct{ Prefix string }

// Tag returns the hash tag of an entity, e.g. an author key: a short digest
// in braces. Every key of that entity carries it, so Redis Cluster keeps them
// in one slot and one script can touch them all; the digest also keeps
// platform ids of any shape out of key syntax.
func Tag(entity string) string {
	sum := sha256.Sum256([]byte(entity))
	return hex.EncodeToString(sum[:8])
}

// Of names a key of an entity by its tag: Of(tag, "case", "1") is
// "<prefix>{tag}:case:1".
func (k Keys) Of(tag string, parts ...string) string {
	var b strings.Builder
	b.WriteString(k.Prefix)
	b.WriteString("{")
	b.WriteString(tag)
	b.WriteString("}")
	for _, p := range parts {
		b.WriteString(":")
		b.WriteString(p)
	}
	return b.String()
}

// Global names a key that belongs to no entity, such as an index.
func (k Keys) Global(parts ...string) string {
	return k.Prefix + strings.Join(parts, ":")
}
