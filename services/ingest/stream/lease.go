package stream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease lets one replica at a time hold a platform stream: the others
// stand by and take over within TTL when the holder dies. Without it every
// replica would open its own connection, doubling work (dedup would still
// keep the result right).
type Lease struct {
	Redis redis.UniversalClient
	Key   string
	TTL   time.Duration // default 15s

	owner string
}

// renewScript extends the lease if this owner holds it, or takes it if
// nobody does.
var renewScript = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`)

// releaseScript gives the lease up if this owner holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

func (l *Lease) ttl() time.Duration {
	if l.TTL <= 0 {
		return 15 * time.Second
	}
	return l.TTL
}

// hold takes or renews the lease and reports whether this replica has it.
func (l *Lease) hold(ctx context.Context) (bool, error) {
	if l.owner == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		l.owner = hex.EncodeToString(b)
	}
	n, err := renewScript.Run(ctx, l.Redis, []string{l.Key}, l.owner, l.ttl().Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("stream lease %s: %w", l.Key, err)
	}
	return n == 1, nil
}

// release gives the lease up at shutdown, so a standby takes over at once.
func (l *Lease) release(ctx context.Context) {
	_ = releaseScript.Run(ctx, l.Redis, []string{l.Key}, l.owner).Err()
}

// guard runs session while the lease is held, renewing it every third of
// its TTL and cancelling the session if it is lost. Each renewal is bounded
// by a third of the TTL too, so a renewal that hangs (a stalled Redis)
// cancels the session about two thirds of a TTL after the last renewal,
// before the lease can run out and a standby start a second session.
func (l *Lease) guard(ctx context.Context, session Session) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lost := make(chan error, 1)
	go func() {
		t := time.NewTicker(l.ttl() / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				renew, cancelRenew := context.WithTimeout(ctx, l.ttl()/3)
				ok, err := l.hold(renew)
				cancelRenew()
				if err != nil || !ok {
					lost <- fmt.Errorf("lost the stream lease %s (renewal: %v)", l.Key, err)
					cancel()
					return
				}
			}
		}
	}()
	err := session(ctx)
	select {
	case lerr := <-lost:
		return lerr
	default:
		return err
	}
}
