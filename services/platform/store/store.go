// Package store connects to Redis, whether one server, Sentinel or Cluster,
// through go-redis's universal client, and names keys so that the keys one
// script touches share a hash tag and land in the same Cluster slot.
package store

import (
	"context"
	"crypto/sha256"
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
	client := redis.NewUniversalClient(uopts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redis at %s did not answer: %w; start one (redis-server) or point FIREBREAK_REDIS_URL / REDIS_URL at yours", where, err)
	}
	return client, nil
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
