// Package store connects to Redis, whether one server, Sentinel or Cluster,
// through go-redis's universal client, and names keys so that the keys one
// script touches share a hash tag and land in the same Cluster slot.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options say where Redis is. With Addrs empty, URL is used; with Addrs
// set (Sentinel or Cluster), URL still gives the scheme (rediss:// for
// TLS), the ACL user and the password, and its host is ignored.
type Options struct {
	URL        string
	Addrs      []string
	MasterName string
	Password   string
}

// Open connects and pings, so a missing Redis is reported at start-up with
// the address that did not answer.
func Open(ctx context.Context, opts Options) (redis.UniversalClient, error) {
	uopts, where, err := universalOptions(opts)
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	client := redis.NewUniversalClient(uopts)
	if err := client.Ping(pingCtx).Err(); err != nil {
		_ = client.Close()
		if strings.Contains(err.Error(), "SELECT is not allowed in cluster mode") {
			return nil, fmt.Errorf("redis at %s is a Cluster node, which has only database 0; drop the /%d from the Redis URL", where, uopts.DB)
		}
		return nil, fmt.Errorf("redis at %s did not answer: %w; start one (redis-server) or point FIREBREAK_REDIS_URL / REDIS_URL at yours", where, err)
	}
	if uopts.MasterName != "" || len(uopts.Addrs) != 1 {
		return client, nil
	}
	// One address may be a seed of a Cluster (or a managed service's
	// configuration endpoint). A plain client there fails on the first
	// MOVED, so ask the server and switch to a cluster client.
	cluster, err := clusterEnabled(pingCtx, client)
	if err != nil || !cluster {
		if err != nil {
			_ = client.Close()
			return nil, fmt.Errorf("ask redis at %s whether it is a Cluster: %w", where, err)
		}
		return client, nil
	}
	_ = client.Close()
	uopts.IsClusterMode = true
	client = redis.NewUniversalClient(uopts)
	if err := client.Ping(pingCtx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redis Cluster seeded from %s did not answer: %w", where, err)
	}
	return client, nil
}

// clusterEnabled reports whether the server runs in Cluster mode, from the
// cluster section of INFO, which every server answers (CLUSTER INFO is
// refused by a server that is not a Cluster node).
func clusterEnabled(ctx context.Context, client redis.UniversalClient) (bool, error) {
	info, err := client.Info(ctx, "cluster").Result()
	if err != nil {
		return false, err
	}
	return strings.Contains(info, "cluster_enabled:1"), nil
}

// universalOptions turns Options into go-redis's, and names where Redis is
// for messages. No message carries the URL itself: it may hold a password.
func universalOptions(opts Options) (*redis.UniversalOptions, string, error) {
	uopts := &redis.UniversalOptions{Addrs: opts.Addrs, MasterName: opts.MasterName}
	where := strings.Join(opts.Addrs, ",")
	if opts.URL != "" {
		parsed, err := redis.ParseURL(opts.URL)
		if err != nil {
			return nil, "", fmt.Errorf("the Redis URL %s does not parse (%s); want redis://[user:password@]host:6379/0 or rediss:// for TLS",
				redactedURL(opts.URL), parseProblem(err))
		}
		uopts.Username, uopts.Password = parsed.Username, parsed.Password
		if len(opts.Addrs) == 0 {
			uopts.Addrs, uopts.DB, where = []string{parsed.Addr}, parsed.DB, parsed.Addr
			uopts.TLSConfig = parsed.TLSConfig
		} else if parsed.TLSConfig != nil {
			// Each Sentinel or Cluster node is verified under its own name,
			// not the URL's host.
			uopts.TLSConfig = parsed.TLSConfig.Clone()
			uopts.TLSConfig.ServerName = ""
		}
	}
	// A password from a file (a Kubernetes Secret) wins over one in the
	// URL, so the URL can stay in a ConfigMap.
	if opts.Password != "" {
		uopts.Password = opts.Password
	}
	if len(uopts.Addrs) == 0 {
		return nil, "", fmt.Errorf("no Redis address: set --redis-url or --redis-addrs")
	}
	return uopts, where, nil
}

// redactedURL shows a URL without its password, or nothing of it when it
// does not parse (the password could be anywhere in it).
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not shown)"
	}
	return strconv.Quote(u.Redacted())
}

// parseProblem is a parse error without the URL that url.Parse puts in it.
func parseProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
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
	// Keys are named per command on every hot path: one allocation each,
	// not one per doubling of the builder.
	n := len(k.Prefix) + len(tag) + 2 + len(parts)
	for _, p := range parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
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

// Global names a key that belongs to no entity and is not hot.
func (k Keys) Global(parts ...string) string {
	return k.Prefix + strings.Join(parts, ":")
}

// Day names the UTC day of t in keys of daily counts: "20261130".
func Day(t time.Time) string { return t.UTC().Format("20060102") }

// LastDays names the n UTC days up to and including now's, oldest first.
func LastDays(now time.Time, n int) []string {
	out := make([]string, 0, max(n, 0))
	for i := n - 1; i >= 0; i-- {
		out = append(out, Day(now.AddDate(0, 0, -i)))
	}
	return out
}

// Shards is how many keys a hot index (joins, timers, cases, storms) is
// spread over. On Redis Cluster each shard has its own hash tag, so the
// index's load falls on every primary instead of one; on one server the
// cost is one more command per shard when scanning, pipelined.
const Shards = 16

// Sharded names the shards of index name, in order: "<prefix>{name.00}:name"
// and on. Each shard's hash tag is also the tag of the entities whose
// members live in it (see ShardTag), so a script may touch both.
func (k Keys) Sharded(name string) []string {
	out := make([]string, Shards)
	for i := range out {
		out[i] = k.Of(ShardTag(name, i), name)
	}
	return out
}

// ShardOf names the shard of index name that holds member.
func (k Keys) ShardOf(name, member string) string {
	return k.Of(ShardTag(name, ShardIndex(member)), name)
}

// ShardIndex picks a shard for member by a digest of it, so members spread
// evenly whatever their shape.
func ShardIndex(member string) int {
	sum := sha256.Sum256([]byte(member))
	return int(binary.BigEndian.Uint32(sum[:4]) % Shards)
}

// ShardTag is the hash tag of shard i of index name: "name.07".
func ShardTag(name string, i int) string {
	// Named on hot paths (every join and commit of a decision): without
	// fmt, which costs several times as much.
	if 0 <= i && i < 10 {
		return name + ".0" + strconv.Itoa(i)
	}
	return name + "." + strconv.Itoa(i)
}
